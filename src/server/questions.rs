//! Question mode: who waits to ask a question, who waits to discuss one, and
//! when three of them make a discussion.
//!
//! Pure bookkeeping, like the matchmaker: the lobby calls it under its lock
//! and seats what it returns. A question is discussed by two strangers who
//! chose "Discuss questions" (nobody else is ever chosen, so nobody is read
//! by someone they did not agree to), while the person who asked reads along.
//! First come, first served on both sides; never two tabs of one browser in
//! the same discussion.

use std::collections::VecDeque;

use super::stranger::StrangerId;

/// Someone waiting for their question to be discussed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asker {
    /// Who.
    pub id: StrangerId,
    /// Their browser's random id, if sent.
    pub browser: Option<String>,
    /// What they asked, already checked.
    pub question: String,
}

/// Someone waiting for a question to discuss.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discusser {
    /// Who.
    pub id: StrangerId,
    /// Their browser's random id, if sent.
    pub browser: Option<String>,
}

/// Three strangers who make a discussion: the room to seat them in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discussion {
    /// Who asked, and what.
    pub asker: Asker,
    /// The two who discuss it, in the order they came.
    pub discussers: [Discusser; 2],
}

/// The two queues of question mode.
#[derive(Debug, Default)]
pub struct QuestionDesk {
    askers: VecDeque<Asker>,
    discussers: VecDeque<Discusser>,
}

/// Whether two browser ids may not meet: the same browser's tabs.
fn same_browser(a: &Option<String>, b: &Option<String>) -> bool {
    a.is_some() && a == b
}

impl QuestionDesk {
    /// `asker` waits for two discussers; returns the discussion at once if two wait.
    pub fn ask(&mut self, asker: Asker) -> Option<Discussion> {
        self.askers.push_back(asker);
        self.next_discussion()
    }

    /// `discusser` waits for a question; returns the discussion at once if
    /// there is a question and another discusser for it.
    pub fn discuss(&mut self, discusser: Discusser) -> Option<Discussion> {
        self.discussers.push_back(discusser);
        self.next_discussion()
    }

    /// Takes `id` out of either queue; false if they were in neither.
    pub fn leave(&mut self, id: StrangerId) -> bool {
        let before = self.waiting();
        self.askers.retain(|a| a.id != id);
        self.discussers.retain(|d| d.id != id);
        self.waiting() < before
    }

    /// Whether `id` waits here.
    pub fn holds(&self, id: StrangerId) -> bool {
        self.askers.iter().any(|a| a.id == id) || self.discussers.iter().any(|d| d.id == id)
    }

    /// How many wait, on both sides.
    pub fn waiting(&self) -> usize {
        self.askers.len() + self.discussers.len()
    }

    /// The oldest question that two waiting discussers (the oldest who fit)
    /// can take: none of the three from one browser.
    fn next_discussion(&mut self) -> Option<Discussion> {
        for (a, asker) in self.askers.iter().enumerate() {
            let mut fits = self
                .discussers
                .iter()
                .enumerate()
                .filter(|(_, d)| d.id != asker.id && !same_browser(&d.browser, &asker.browser));
            let Some((first, one)) = fits.next() else {
                continue;
            };
            let Some((second, _)) = fits.find(|(_, d)| !same_browser(&d.browser, &one.browser))
            else {
                continue;
            };
            let second = self.discussers.remove(second)?;
            let first = self.discussers.remove(first)?;
            let asker = self.askers.remove(a)?;
            return Some(Discussion {
                asker,
                discussers: [first, second],
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asker(question: &str, browser: Option<&str>) -> Asker {
        Asker {
            id: StrangerId::new(),
            browser: browser.map(str::to_owned),
            question: question.to_owned(),
        }
    }

    fn discusser(browser: Option<&str>) -> Discusser {
        Discusser {
            id: StrangerId::new(),
            browser: browser.map(str::to_owned),
        }
    }

    #[test]
    fn a_question_waits_for_two_discussers_then_all_three_leave_the_queues() {
        let mut desk = QuestionDesk::default();
        let question = asker("cats or dogs?", None);
        assert_eq!(desk.ask(question.clone()), None);
        let first = discusser(None);
        assert_eq!(desk.discuss(first.clone()), None, "one is not a discussion");
        let second = discusser(None);
        let discussion = desk
            .discuss(second.clone())
            .expect("two discussers and a question");
        assert_eq!(discussion.asker, question);
        assert_eq!(discussion.discussers, [first, second]);
        assert_eq!(desk.waiting(), 0);
    }

    #[test]
    fn discussers_wait_for_a_question_and_the_oldest_question_goes_first() {
        let mut desk = QuestionDesk::default();
        assert_eq!(desk.discuss(discusser(None)), None);
        assert_eq!(desk.discuss(discusser(None)), None, "no question yet");
        let older = asker("first?", None);
        let discussion = desk.ask(older.clone()).expect("paired on arrival");
        assert_eq!(discussion.asker, older);

        let older = asker("older?", None);
        desk.ask(older.clone());
        desk.ask(asker("newer?", None));
        desk.discuss(discusser(None));
        let discussion = desk.discuss(discusser(None)).unwrap();
        assert_eq!(discussion.asker, older);
        assert_eq!(desk.waiting(), 1, "the newer question still waits");
    }

    #[test]
    fn one_browser_never_discusses_its_own_question_or_with_itself() {
        let mut desk = QuestionDesk::default();
        desk.ask(asker("mine?", Some("tab")));
        assert_eq!(
            desk.discuss(discusser(Some("tab"))),
            None,
            "the asker's own tab"
        );
        assert_eq!(desk.discuss(discusser(Some("other"))), None);
        assert_eq!(
            desk.discuss(discusser(Some("other"))),
            None,
            "one browser twice"
        );
        let discussion = desk
            .discuss(discusser(Some("third")))
            .expect("two browsers");
        assert_eq!(discussion.discussers[0].browser.as_deref(), Some("other"));
        assert_eq!(discussion.discussers[1].browser.as_deref(), Some("third"));
        assert_eq!(
            desk.waiting(),
            2,
            "the asker's tab and the second 'other' wait on"
        );
    }

    #[test]
    fn whoever_leaves_the_queue_is_never_chosen() {
        let mut desk = QuestionDesk::default();
        let question = asker("q?", None);
        desk.ask(question.clone());
        let gone = discusser(None);
        desk.discuss(gone.clone());
        assert!(desk.leave(gone.id));
        assert!(!desk.leave(gone.id), "leaving twice is harmless");
        assert!(!desk.holds(gone.id));
        assert_eq!(
            desk.discuss(discusser(None)),
            None,
            "only one discusser is left"
        );
        assert!(desk.leave(question.id));
        assert_eq!(desk.discuss(discusser(None)), None, "no question is left");
    }
}
