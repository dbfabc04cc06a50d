// What the server sent at the last bootstrap (products, the officer's borrowers, settings),
// kept in IndexedDB meta "bootstrap" so every screen works offline.
export const boot = { data: null };

export function setBoot(data) { boot.data = data; }

export function products() { return (boot.data && boot.data.products) || []; }

export function borrowers() { return (boot.data && boot.data.borrowers) || []; }

export function settings() { return (boot.data && boot.data.settings) || {}; }

export function product(id) {
  return products().filter((p) => p.id === Number(id))[0] || null;
}

// Fills a <select> with the loan types.
export function fillProducts(select) {
  select.innerHTML = "";
  products().forEach((p) => {
    const o = document.createElement("option");
    o.value = p.id;
    o.textContent = p.name;
    select.appendChild(o);
  });
}
