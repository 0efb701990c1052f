// Live questionnaire totals and the PHQ-9 item 9 risk prompt on the
// log-a-contact form. Progressive enhancement only: the server recomputes
// every total, band and risk rule when the form is saved.
//
// DOM contract (templates follow it exactly):
//   <fieldset class="app-questionnaire" data-measure="phq9" data-items="9"
//             data-bands='[[0,4,"Minimal"],[5,9,"Mild"],...]'>
//     radios named phq9-1 .. phq9-9, values "0".."3" ("na" = not applicable)
//     <p class="app-live-total" aria-live="polite">
//       <span data-total-for="phq9">–</span> <span data-band-for="phq9"></span></p>
//   </fieldset>
//   <div id="risk-assessment" data-risk-section> ... <p data-risk-prompt></p> ... </div>

const NOT_APPLICABLE = "na";
// The risk item comes from the measure definitions: the questionnaire whose fieldset
// carries data-risk-item (PHQ-9 item 9), with the lowest answer that signals risk.
const RISK_CLASS = "app-risk--required";
let RISK_ITEM = null;
let RISK_FROM = 1;
let RISK_PROMPT = "";

function parseBands(fieldset) {
  try {
    const bands = JSON.parse(fieldset.dataset.bands || "[]");
    return Array.isArray(bands) ? bands : [];
  } catch {
    return [];
  }
}

function checkedValue(form, name) {
  const input = form.querySelector(`input[type="radio"][name="${CSS.escape(name)}"]:checked`);
  return input ? input.value : null;
}

function bandFor(bands, total) {
  const band = bands.find(([lower, upper]) => total >= lower && total <= upper);
  return band ? String(band[2]) : "";
}

function updateTotal(fieldset) {
  const measure = fieldset.dataset.measure;
  const itemCount = Number.parseInt(fieldset.dataset.items, 10);
  if (!measure || !Number.isInteger(itemCount) || itemCount < 1) {
    return;
  }
  const totalEl = fieldset.querySelector(`[data-total-for="${CSS.escape(measure)}"]`);
  const bandEl = fieldset.querySelector(`[data-band-for="${CSS.escape(measure)}"]`);
  if (!totalEl) {
    return;
  }
  let answered = 0;
  let total = 0;
  for (let item = 1; item <= itemCount; item += 1) {
    const value = checkedValue(fieldset, `${measure}-${item}`);
    if (value === null) {
      continue;
    }
    answered += 1;
    const score = Number.parseInt(value, 10);
    if (value !== NOT_APPLICABLE && Number.isInteger(score)) {
      total += score;
    }
  }
  let totalText;
  let bandText = "";
  if (answered === 0) {
    totalText = "–";
  } else if (answered < itemCount) {
    totalText = `${total} so far (${answered} of ${itemCount} answered)`;
  } else {
    bandText = bandFor(parseBands(fieldset), total);
    totalText = bandText ? `Total ${total}:` : `Total ${total}`;
  }
  if (totalEl.textContent !== totalText) {
    totalEl.textContent = totalText;
  }
  if (bandEl && bandEl.textContent !== bandText) {
    bandEl.textContent = bandText;
  }
}

function updateRisk(form, section, originalPrompt) {
  const value = checkedValue(form, RISK_ITEM);
  if (value === null) {
    return;
  }
  const prompt = section.querySelector("[data-risk-prompt]");
  const score = Number.parseInt(value, 10);
  if (Number.isInteger(score) && score >= RISK_FROM) {
    section.classList.add(RISK_CLASS);
    section.removeAttribute("hidden");
    if (prompt) {
      prompt.textContent = RISK_PROMPT;
    }
  } else {
    // Never re-hide: the practitioner may already have started the assessment.
    section.classList.remove(RISK_CLASS);
    if (prompt) {
      prompt.textContent = originalPrompt;
    }
  }
}

function enhance() {
  const fieldsets = document.querySelectorAll("fieldset.app-questionnaire[data-measure]");
  const section = document.querySelector("[data-risk-section]");
  const prompt = section ? section.querySelector("[data-risk-prompt]") : null;
  const originalPrompt = prompt ? prompt.textContent : "";

  fieldsets.forEach((fieldset) => {
    updateTotal(fieldset);
    fieldset.addEventListener("change", () => updateTotal(fieldset));
  });

  const riskFieldset = document.querySelector("fieldset.app-questionnaire[data-risk-item]");
  if (riskFieldset) {
    RISK_ITEM = `${riskFieldset.dataset.measure}-${riskFieldset.dataset.riskItem}`;
    RISK_FROM = Number.parseInt(riskFieldset.dataset.riskFrom, 10) || 1;
    RISK_PROMPT = riskFieldset.dataset.riskPrompt || "";
  }

  if (section && RISK_ITEM) {
    // A form re-shown after a server-side error may already have item 9 answered.
    updateRisk(document, section, originalPrompt);
    document.addEventListener("change", (event) => {
      if (event.target instanceof HTMLInputElement && event.target.name === RISK_ITEM) {
        updateRisk(document, section, originalPrompt);
      }
    });
  }
}

enhance();
