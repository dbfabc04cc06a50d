// The strings the server translated into the shell (<script type="application/json" id="i18n">),
// with %(name)s filled in. Missing keys show as themselves.
const T = JSON.parse(document.getElementById("i18n").textContent);

export function t(key, params) {
  const text = T[key] || key;
  return text.replace(/%\((\w+)\)s/g, (_, name) => (params && params[name] !== undefined ? params[name] : ""));
}

// A translated label when the shell has one ("state_…", "flag_…"), else the raw value.
export function label(key, fallback) {
  return T[key] || fallback;
}
