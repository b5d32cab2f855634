// The linkage run page: ask for the run's stage every two seconds and say it in the page's
// polite live region; when the run has ended, load the page again to show its outcome.
// Without this script the page has a link to refresh it by hand.
const progress = document.getElementById("run-progress");

const WORDS = { done: "done", current: "in progress", waiting: "waiting" };
const COLOURS = { done: "govuk-tag--green", current: "govuk-tag--blue", waiting: "govuk-tag--grey" };
const INTERVAL_MS = 2000;

function show(status) {
  const stage = progress.querySelector(".app-run-stage");
  if (stage && stage.textContent !== status.stage) {
    stage.textContent = status.stage;
  }
  status.steps.forEach((step, index) => {
    const tag = document.querySelector(`#run-steps [data-step="${index}"]`);
    if (!tag) return;
    tag.textContent = WORDS[step.state] || step.state;
    tag.classList.remove(...Object.values(COLOURS));
    tag.classList.add(COLOURS[step.state] || COLOURS.waiting);
  });
}

async function poll() {
  try {
    const response = await fetch(progress.dataset.statusUrl, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (response.ok) {
      const status = await response.json();
      if (status.finished) {
        window.location.reload();
        return;
      }
      show(status);
    }
  } catch (error) {
    // A dropped request is tried again at the next interval; the refresh link still works.
  }
  window.setTimeout(poll, INTERVAL_MS);
}

if (progress && progress.dataset.statusUrl) {
  document.getElementById("run-refresh")?.closest("p")?.setAttribute("hidden", "");
  window.setTimeout(poll, INTERVAL_MS);
}
