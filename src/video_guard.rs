//! What the viewer sees of the stranger's video: the on-device nudity check's
//! verdicts and the viewer's own choices. Pure, so it is tested natively; the
//! check itself runs in the browser (`nudity`, and `public/classifier/worker.js`).

use crate::i18n::Word;

/// The model's probabilities for one frame (nsfwjs's five classes; they sum to 1).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scores {
    /// Drawings and illustrations that are not explicit.
    pub drawing: f32,
    /// Explicit drawings.
    pub hentai: f32,
    /// Anything else: faces, rooms, test patterns.
    pub neutral: f32,
    /// Explicit photographs.
    pub porn: f32,
    /// Suggestive, not explicit (underwear, swimwear, a bare torso).
    pub sexy: f32,
}

/// A frame is judged sexual when the explicit classes together reach this...
pub const EXPLICIT_AT: f32 = 0.5;
/// ...or when explicit and suggestive together reach this: a frame the model
/// finds merely suggestive (a bare torso) is not blurred on its own.
pub const SUGGESTIVE_AT: f32 = 0.85;

impl Scores {
    /// Whether this frame may show nudity or sexual content.
    pub fn is_sexual(&self) -> bool {
        let explicit = self.porn + self.hentai;
        explicit >= EXPLICIT_AT || explicit + self.sexy >= SUGGESTIVE_AT
    }
}

/// Whether the stranger's video is shown or blurred, and why.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StrangerVideo {
    /// Shown; the check may still blur it.
    #[default]
    Shown,
    /// Blurred from the start, as the viewer asked ("Show video").
    HiddenUntilChosen,
    /// Blurred because a frame was judged sexual ("Show anyway" or "Next").
    HiddenNudity,
    /// The viewer chose to see it: later verdicts leave it shown.
    ShownByChoice,
}

impl StrangerVideo {
    /// How a new call starts: blurred if the viewer asked for that.
    pub fn at_start(blur_until_chosen: bool) -> Self {
        if blur_until_chosen {
            StrangerVideo::HiddenUntilChosen
        } else {
            StrangerVideo::Shown
        }
    }

    /// After the check judged a frame. A sexual frame blurs the video unless
    /// the viewer chose to see it; a harmless one changes nothing (a blurred
    /// video is shown again only by the viewer's choice).
    pub fn judged(self, sexual: bool) -> Self {
        match self {
            StrangerVideo::Shown | StrangerVideo::HiddenUntilChosen if sexual => {
                StrangerVideo::HiddenNudity
            }
            other => other,
        }
    }

    /// The viewer pressed "Show anyway" or "Show video".
    pub fn shown_by_choice(self) -> Self {
        StrangerVideo::ShownByChoice
    }

    /// Whether the video is blurred now.
    pub fn is_hidden(self) -> bool {
        matches!(
            self,
            StrangerVideo::HiddenUntilChosen | StrangerVideo::HiddenNudity
        )
    }

    /// What the blurred video says, and the button that shows it.
    pub fn notice(self) -> Option<(&'static str, &'static str)> {
        match self {
            StrangerVideo::HiddenNudity => Some((Word::VideoHidden.say(), Word::ShowAnyway.say())),
            StrangerVideo::HiddenUntilChosen => {
                Some((Word::VideoBlurred.say(), Word::ShowVideo.say()))
            }
            StrangerVideo::Shown | StrangerVideo::ShownByChoice => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(porn: f32, hentai: f32, sexy: f32) -> Scores {
        Scores {
            porn,
            hentai,
            sexy,
            neutral: 1.0 - porn - hentai - sexy,
            drawing: 0.0,
        }
    }

    #[test]
    fn explicit_frames_are_sexual_and_merely_suggestive_ones_are_not() {
        assert!(scores(0.6, 0.0, 0.1).is_sexual());
        assert!(
            scores(0.3, 0.25, 0.0).is_sexual(),
            "explicit classes add up"
        );
        assert!(
            scores(0.2, 0.0, 0.7).is_sexual(),
            "suggestive and explicit together"
        );
        assert!(!scores(0.0, 0.0, 0.8).is_sexual(), "a bare torso alone");
        assert!(!scores(0.05, 0.01, 0.1).is_sexual());
        assert!(!Scores::default().is_sexual());
    }

    #[test]
    fn a_sexual_frame_blurs_until_the_viewer_chooses_and_then_never_again() {
        let video = StrangerVideo::at_start(false);
        assert!(!video.is_hidden());
        assert_eq!(video.judged(false), StrangerVideo::Shown);
        let hidden = video.judged(true);
        assert_eq!(
            hidden.notice(),
            Some(("Video hidden: it may show nudity.", "Show anyway"))
        );
        assert!(
            hidden.judged(false).is_hidden(),
            "only the viewer unblurs it"
        );
        let chosen = hidden.shown_by_choice();
        assert!(!chosen.is_hidden());
        assert!(
            !chosen.judged(true).is_hidden(),
            "the viewer chose to see it"
        );
    }

    #[test]
    fn blurred_from_the_start_when_asked() {
        let video = StrangerVideo::at_start(true);
        assert!(video.is_hidden());
        assert_eq!(video.notice().map(|(_, button)| button), Some("Show video"));
        assert_eq!(video.judged(false), video);
        assert_eq!(video.judged(true), StrangerVideo::HiddenNudity);
        assert!(!video.shown_by_choice().is_hidden());
    }
}
