// Entry point for every page: start the NHS.UK frontend components.
import { initAll } from "/vendor/nhsuk-frontend.min.js";

document.body.classList.add("nhsuk-frontend-supported");
initAll();
