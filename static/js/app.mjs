// Entry point for every page: start the NHS.UK frontend components.
// The library's URL carries its version (see caseload/assets.py), so the page
// names it in a meta tag and this module imports it from there.
const source = document.querySelector('meta[name="nhsuk-frontend-module"]');
const { initAll } = await import(source.content);

document.body.classList.add("nhsuk-frontend-supported");
initAll();
