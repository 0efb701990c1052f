// Records that leave the screen (caseload/exports, caseload/lead/exports).
// - A "Print" button (hidden until this runs) opens the browser's print dialogue.
// - A download form shows its progress message once submitted: the file streams,
//   and a large one takes a while before the browser shows it.
for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}

for (const form of document.querySelectorAll("form[data-download]")) {
  form.addEventListener("submit", () => {
    const message = document.getElementById(form.dataset.download);
    if (message) {
      message.hidden = false;
    }
  });
}
