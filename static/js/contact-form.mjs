// Live questionnaire totals, the PHQ-9 item 9 risk prompt and the reason for an
// unfinished questionnaire on the log-a-contact form. Progressive enhancement only:
// the server recomputes every total, band and risk rule when the form is saved, and
// shows the reason fields itself when a questionnaire it received was unfinished.
//
// DOM contract (templates follow it exactly):
//   <fieldset class="app-questionnaire" data-measure="phq9" data-items="9"
//             data-bands='[[0,4,"Minimal"],[5,9,"Mild"],...]'>
//     radios named phq9-1 .. phq9-9, values "0".."3" ("na" = not applicable)
//     <p class="app-live-total" aria-live="polite">
//       <span data-total-for="phq9">–</span> <span data-band-for="phq9"></span></p>
//     <div data-incomplete [hidden]>           shown while some items are unanswered
//       <p data-risk-missing [hidden]>          shown while the risk item is among them
//       <select name="phq9_incomplete_reason">  the reason; "other" shows:
//       <div data-incomplete-note [hidden]>     the worker's words
//     </div>
//   </fieldset>
//   (risk item fieldsets also carry data-risk-item, data-risk-from, data-risk-prompt
//    and data-risk-missing-prompt)
//   <input name="measures_not_collected">, <select name="not_collected_reason">,
//   <div data-not-collected-note [hidden]>
//   <div id="risk-assessment" data-risk-section> ... <p data-risk-prompt></p> ... </div>

const NOT_APPLICABLE = "na";
// The risk item comes from the measure definitions: the questionnaire whose fieldset
// carries data-risk-item (PHQ-9 item 9), with the lowest answer that signals risk.
const RISK_CLASS = "app-risk--required";
const OTHER = "other";
let RISK_ITEM = null;
let RISK_FROM = 1;
let RISK_PROMPT = "";
let RISK_MISSING_PROMPT = "";
let RISK_FIELDSET = null;

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

// How many items of a questionnaire are answered, and the running total.
function progress(fieldset) {
  const measure = fieldset.dataset.measure;
  const itemCount = Number.parseInt(fieldset.dataset.items, 10);
  if (!measure || !Number.isInteger(itemCount) || itemCount < 1) {
    return null;
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
  return { measure, itemCount, answered, total };
}

function isUnfinished(fieldset) {
  const state = progress(fieldset);
  return state !== null && state.answered > 0 && state.answered < state.itemCount;
}

function hasError(element) {
  return element.querySelector(".nhsuk-form-group--error") !== null;
}

// The worker's words are asked for only with "other" (or when already given).
function updateNote(select, noteBlock) {
  if (!select || !noteBlock) {
    return;
  }
  const input = noteBlock.querySelector("input");
  const given = input !== null && input.value.trim() !== "";
  noteBlock.hidden = !(select.value === OTHER || given || hasError(noteBlock));
}

function riskItemMissing(fieldset) {
  const item = fieldset.dataset.riskItem;
  return Boolean(item)
    && isUnfinished(fieldset)
    && checkedValue(fieldset, `${fieldset.dataset.measure}-${item}`) === null;
}

// The reason for an unfinished questionnaire: shown while some items are unanswered
// (or when the server has put an error on it), with the risk-item warning.
function updateIncomplete(fieldset) {
  const block = fieldset.querySelector("[data-incomplete]");
  if (!block) {
    return;
  }
  block.hidden = !(isUnfinished(fieldset) || hasError(block));
  const warning = block.querySelector("[data-risk-missing]");
  if (warning) {
    warning.hidden = !riskItemMissing(fieldset);
  }
  updateNote(block.querySelector("select"), block.querySelector("[data-incomplete-note]"));
}

function updateTotal(fieldset) {
  const state = progress(fieldset);
  if (state === null) {
    return;
  }
  const { measure, itemCount, answered, total } = state;
  const totalEl = fieldset.querySelector(`[data-total-for="${CSS.escape(measure)}"]`);
  const bandEl = fieldset.querySelector(`[data-band-for="${CSS.escape(measure)}"]`);
  if (!totalEl) {
    return;
  }
  let totalText;
  let bandText = "";
  if (answered === 0) {
    totalText = "–";
  } else if (answered < itemCount) {
    totalText = `No total yet: ${answered} of ${itemCount} answered`;
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
  const prompt = section.querySelector("[data-risk-prompt]");
  if (value === null) {
    // Item 9 unanswered on a questionnaire that was started: ask it, or assess risk.
    if (RISK_FIELDSET && riskItemMissing(RISK_FIELDSET)) {
      section.classList.add(RISK_CLASS);
      if (prompt) {
        prompt.textContent = RISK_MISSING_PROMPT;
      }
    } else if (prompt && prompt.textContent === RISK_MISSING_PROMPT) {
      section.classList.remove(RISK_CLASS);
      prompt.textContent = originalPrompt;
    }
    return;
  }
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
  let originalPrompt = prompt ? prompt.textContent.trim() : "";

  fieldsets.forEach((fieldset) => {
    updateTotal(fieldset);
    updateIncomplete(fieldset);
    fieldset.addEventListener("change", () => {
      updateTotal(fieldset);
      updateIncomplete(fieldset);
    });
  });

  const riskFieldset = document.querySelector("fieldset.app-questionnaire[data-risk-item]");
  if (riskFieldset) {
    RISK_FIELDSET = riskFieldset;
    RISK_ITEM = `${riskFieldset.dataset.measure}-${riskFieldset.dataset.riskItem}`;
    RISK_FROM = Number.parseInt(riskFieldset.dataset.riskFrom, 10) || 1;
    RISK_PROMPT = riskFieldset.dataset.riskPrompt || "";
    RISK_MISSING_PROMPT = riskFieldset.dataset.riskMissingPrompt || "";
    if (originalPrompt === RISK_MISSING_PROMPT) {
      // The server's own missing-item prompt: the script keeps it current from here.
      originalPrompt = "";
      prompt.textContent = RISK_MISSING_PROMPT;
    }
  }

  if (section && RISK_ITEM) {
    // A form re-shown after a server-side error may already have item 9 answered.
    updateRisk(document, section, originalPrompt);
    riskFieldset.addEventListener("change", () => updateRisk(document, section, originalPrompt));
  }

  // "Other" as the reason nothing was collected asks for the worker's words too.
  const notCollected = document.querySelector("select[name='not_collected_reason']");
  const notCollectedNote = document.querySelector("[data-not-collected-note]");
  if (notCollected && notCollectedNote) {
    updateNote(notCollected, notCollectedNote);
    notCollected.addEventListener("change", () => updateNote(notCollected, notCollectedNote));
  }
}

enhance();
