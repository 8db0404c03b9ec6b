// The compact accessibility view of a page: one line per node with a role, its name, and a
// reference `[ref=eN]` for what can be acted on. References are kept on the elements
// (`data-spud-ref`), so they stay the same across snapshots of one document. Stops once the
// text is over MAX characters (the host cuts it and says so).
(() => {
  const MAX = __MAX__;
  const W = window;
  W.__spudSeq = W.__spudSeq || 0;
  const out = [];
  let len = 0;
  const push = (line) => { out.push(line); len += line.length + 1; };
  const ROLE = { A: 'link', BUTTON: 'button', SELECT: 'combobox', TEXTAREA: 'textbox',
    H1: 'heading', H2: 'heading', H3: 'heading', H4: 'heading', H5: 'heading', H6: 'heading',
    IMG: 'img', LI: 'listitem', UL: 'list', OL: 'list', NAV: 'navigation', MAIN: 'main',
    FORM: 'form', TABLE: 'table', TR: 'row', TD: 'cell', TH: 'columnheader', LABEL: 'label',
    OPTION: 'option', DIALOG: 'dialog', SUMMARY: 'button' };
  const ACTIONABLE = 'a[href],button,input,select,textarea,summary,[role=button],[role=link],'
    + '[role=checkbox],[role=tab],[role=menuitem],[onclick],[contenteditable=""],[contenteditable=true]';
  const SKIP = ['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'HEAD'];
  const clean = (s) => (s || '').trim().replace(/\s+/g, ' ').slice(0, 100).replace(/"/g, "'");
  const hidden = (el) => {
    if (el.type === 'hidden') return true;
    const s = getComputedStyle(el);
    return s.display === 'none' || s.visibility === 'hidden';
  };
  const field = (el) => ['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName);
  // Only these are named by their text; containers by aria-label or title alone (their text
  // is listed under them).
  const TEXTUAL = ['A', 'BUTTON', 'SUMMARY', 'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'OPTION'];
  const name = (el) => clean(el.getAttribute('aria-label')
    || (el.labels && el.labels[0] && el.labels[0].innerText)
    || el.getAttribute('alt') || el.getAttribute('title') || el.getAttribute('placeholder')
    || (field(el) ? el.name : (TEXTUAL.includes(el.tagName) || el.matches(ACTIONABLE) ? el.innerText : '')));
  const roleOf = (el) => {
    if (el.tagName === 'INPUT') {
      const t = el.type;
      if (t === 'checkbox' || t === 'radio') return t;
      if (t === 'submit' || t === 'button' || t === 'reset') return 'button';
      return 'textbox';
    }
    return el.getAttribute('role') || ROLE[el.tagName];
  };
  const describe = (el, depth, act) => {
    let line = '  '.repeat(depth) + '- ' + (roleOf(el) || 'generic');
    const n = name(el);
    if (n) line += ' "' + n + '"';
    if (act) {
      let r = el.getAttribute('data-spud-ref');
      if (!r) { r = 'e' + (++W.__spudSeq); el.setAttribute('data-spud-ref', r); }
      line += ' [ref=' + r + ']';
    }
    if (field(el) && el.value) {
      line += el.type === 'password' ? ' value=(hidden)' : ' value="' + clean(el.value) + '"';
    }
    if (el.checked) line += ' checked';
    if (el.tagName === 'SELECT') {
      line += ' options=[' + [...el.options].slice(0, 20).map((o) => clean(o.value)).join(', ') + ']';
    }
    return line;
  };
  const walk = (el, depth) => {
    if (len > MAX || hidden(el)) return;
    const act = el.matches(ACTIONABLE);
    let d = depth;
    if (roleOf(el) || act) {
      push(describe(el, depth, act));
      d = depth + 1;
      if (act || /^H[1-6]$/.test(el.tagName) || el.tagName === 'OPTION') return;
    }
    for (const c of el.childNodes) {
      if (len > MAX) return;
      if (c.nodeType === 3) {
        const t = c.textContent.trim().replace(/\s+/g, ' ');
        if (t) push('  '.repeat(d) + '- text: ' + t.slice(0, 200));
      } else if (c.nodeType === 1 && !SKIP.includes(c.tagName)) {
        walk(c, d);
      }
    }
  };
  if (document.body) walk(document.body, 0);
  return out.join('\n');
})()
