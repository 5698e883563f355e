// followup review page: label without reloading. The forms also work without this script.
"use strict";

document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!form.classList || !form.classList.contains("label-form")) return;
  event.preventDefault();
  const data = new FormData(form, event.submitter);
  const row = form.closest("li.match");
  try {
    const response = await fetch(form.action, {
      method: "POST",
      body: data,
      headers: { "Accept": "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) throw new Error(String(response.status));
    const result = await response.json();
    row.dataset.label = result.label;
    row.querySelector(".label-state").textContent = result.label;
    for (const button of form.querySelectorAll("button[name=label]")) {
      button.setAttribute("aria-pressed", String(button.value === result.label));
    }
  } catch (error) {
    row.querySelector(".label-state").textContent = "not saved (" + error.message + ")";
  }
});
