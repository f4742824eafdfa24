import { expect, test } from "@playwright/test";
import { CHATTING, LOOKING, onNetwork, Stranger, trackStrangers } from "./strangers";
import { ADMIN_TOKEN, CONTACT } from "../ports";

// What makes Strangers fit to open to the public: the 18+ and rules gate, the
// rules, privacy and contact pages, the report dialog, and the operator who
// acts on a report.

const opened = trackStrangers();


/** Waits until the landing page's start form has hydrated. */
async function hydrated(s: Stranger) {
  await expect(s.page.locator("form.start[data-hydrated]")).toBeAttached();
}

test("Text and Video say what is missing until the box is ticked, and the tick is remembered", async ({
  browser,
}) => {
  const visitor = await onNetwork(browser, opened, "203.0.113.40");
  await visitor.page.goto("/");
  await hydrated(visitor);
  await expect(visitor.gate()).not.toBeChecked();
  for (const mode of ["Text", "Video"]) {
    await visitor.button(mode).click();
    await expect(visitor.page).toHaveURL(/\/$/);
    await expect(visitor.page.getByText("To start chatting, first tick the box above")).toBeVisible();
    await expect(visitor.gate()).toBeFocused();
  }
  await visitor.gate().check();
  await expect(visitor.page.getByText("To start chatting, first tick the box above")).toBeHidden();

  await visitor.page.reload();
  await hydrated(visitor);
  await expect(visitor.gate()).toBeChecked();
  await visitor.button("Text").click();
  await expect(visitor.status()).toHaveText(LOOKING);
});

test("a chat page opened without the tick is refused by the server and points back", async ({
  browser,
}) => {
  const visitor = await onNetwork(browser, opened, "203.0.113.41");
  await visitor.page.goto("/chat");
  await expect(visitor.log()).toContainText(
    "To chat, confirm on the start page that you are 18 or older and agree to the rules.",
  );
  await visitor.page.getByRole("link", { name: "Go to the start page" }).click();
  await expect(visitor.gate()).toBeVisible();
});

test("the rules, privacy and contact pages are in the footer of every page", async ({ browser }) => {
  const visitor = await onNetwork(browser, opened, "203.0.113.42");
  await visitor.page.goto("/");
  const footer = visitor.page.getByRole("navigation", { name: "About Strangers" });
  await footer.getByRole("link", { name: "Rules" }).click();
  await expect(visitor.page).toHaveURL(/\/rules$/);
  await expect(visitor.page.getByRole("heading", { name: "The rules" })).toBeVisible();
  await expect(visitor.page.getByText("You must be 18 or older.")).toBeVisible();

  await footer.getByRole("link", { name: "Privacy" }).click();
  await expect(visitor.page.getByRole("heading", { name: "Privacy", exact: true })).toBeVisible();
  // How long reports are kept, and how long a past ban is remembered.
  await expect(visitor.page.getByText("30 days")).toHaveCount(2);
  await expect(visitor.page.getByText("only in this server's memory")).toBeVisible();

  await footer.getByRole("link", { name: "Contact" }).click();
  await expect(visitor.page.getByRole("link", { name: CONTACT })).toHaveAttribute(
    "href",
    `mailto:${CONTACT}`,
  );

  // The landing page's own link to the rules, and the chat page's footer.
  await visitor.page.goto("/");
  await visitor.page.getByRole("link", { name: "rules", exact: true }).click();
  await expect(visitor.page.getByRole("heading", { name: "The rules" })).toBeVisible();
  await visitor.start();
  await expect(footer.getByRole("link", { name: "Privacy" })).toBeVisible();
});

test("Report asks why, shows the lines it would send, and Esc closes it without reporting", async ({
  browser,
}) => {
  const stranger = await onNetwork(browser, opened, "198.51.100.70");
  const reporter = await onNetwork(browser, opened, "203.0.113.43");
  await stranger.start();
  await expect(stranger.status()).toHaveText(LOOKING);
  await reporter.start();
  await reporter.expectChatting();
  await stranger.say("send me pictures");
  await expect(reporter.log()).toContainText("Stranger: send me pictures");
  await reporter.say("no");

  await reporter.button("Report").click();
  const dialog = reporter.page.getByRole("dialog", { name: "Report this stranger" });
  await expect(dialog.getByRole("radio")).toHaveCount(5);
  for (const reason of [
    "Nudity or sexual content",
    "Seems under 18",
    "Harassment or hate",
    "Spam or a bot",
    "Something else",
  ]) {
    await expect(dialog.getByRole("radio", { name: reason })).toBeVisible();
  }
  const lines = dialog.getByRole("list", { name: "Messages that will be sent" });
  await expect(lines.getByRole("listitem")).toHaveText(["Stranger: send me pictures", "You: no"]);
  await dialog.getByRole("checkbox", { name: "Include the last messages of this chat" }).uncheck();
  await expect(dialog.getByText("No messages will be sent.")).toBeVisible();

  await reporter.page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(reporter.status()).toHaveText(CHATTING);
  await expect(stranger.status()).toHaveText(CHATTING);

  await reporter.button("Report").click();
  await dialog.getByRole("button", { name: "Send report" }).click();
  await expect(dialog.getByText("Choose what is wrong first.")).toBeVisible();
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();

  await reporter.report("Nudity or sexual content");
  await expect(stranger.log()).toContainText("Stranger has disconnected.");
});

test("an operator signs in, reads the report and its evidence, and bans the network", async ({
  browser,
}) => {
  const troll = await onNetwork(browser, opened, "198.51.100.77");
  const reporter = await onNetwork(browser, opened, "203.0.113.44");
  await troll.start();
  await expect(troll.status()).toHaveText(LOOKING);
  await reporter.start();
  await reporter.expectChatting();
  await troll.say("cheap followers at spam.example");
  await expect(reporter.log()).toContainText("Stranger: cheap followers at spam.example");
  await reporter.report("Spam or a bot");
  await troll.button("New").click();
  await expect(troll.status()).toHaveText(LOOKING);

  const operator = await onNetwork(browser, opened, "192.0.2.44");
  await operator.page.goto("/admin");
  await operator.page.getByLabel("Operator token").fill("not the token at all");
  await operator.page.getByRole("button", { name: "Sign in" }).click();
  await expect(operator.page.getByRole("alert")).toHaveText("That is not the operator token.");
  await operator.page.getByLabel("Operator token").fill(ADMIN_TOKEN);
  await operator.page.getByRole("button", { name: "Sign in" }).click();
  await expect(operator.page.getByRole("heading", { name: "Overview" })).toBeVisible();

  await operator.page.getByRole("link", { name: "Reports" }).click();
  const report = operator.page
    .getByRole("region")
    .filter({ hasText: "cheap followers at spam.example" });
  await expect(report.getByRole("heading", { name: "Spam or a bot" })).toBeVisible();
  await expect(report.getByText("Reported stranger: cheap followers at spam.example")).toBeVisible();
  await report.getByLabel("Ban this network for").selectOption({ label: "24 hours" });
  await report.getByRole("button", { name: "Ban network" }).click();

  await expect(operator.page.getByRole("heading", { name: "Bans" })).toBeVisible();
  await expect(operator.page.getByText("by an operator")).toBeVisible();
  await expect(troll.log()).toContainText("You are banned from Strangers for 24 h");

  await operator.page.getByRole("link", { name: "Audit log" }).click();
  await expect(operator.page.getByText(/Banned network [0-9a-f]{16} for 24 h/)).toBeVisible();
});
