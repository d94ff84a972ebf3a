/* The product page's option selectors (storefront.variant_picker): the selects' values, joined in axis
   order, name exactly one variant in the page's combos map. Price, stock, SKU and the variant id that
   "Add to cart" sends are all written from that one entry, so the shown variant is the one added. */
(function () {
  var SEP = "\u001f";
  function init() {
    var data = document.getElementById("picker-data");
    var form = document.querySelector("[data-picker]");
    if (!data || !form) { return; }
    var model = JSON.parse(data.textContent);
    var $ = function (id) { return document.querySelector('[data-testid="' + id + '"]'); };
    function update() {
      var values = model.axes.map(function (axis) {
        var sel = form.querySelector('select[data-axis="' + CSS.escape(axis) + '"]');
        return sel ? sel.value : "";
      });
      var c = model.combos[values.join(SEP)] || null;
      var button = $("add-button");
      $("variant-id").value = c ? String(c.variant_id) : "";
      $("variant-price").textContent = c ? c.price : "";
      $("variant-sku").textContent = c ? c.sku : "";
      var stock = $("variant-stock");
      stock.setAttribute("data-state", c ? c.stock_state : "none");
      stock.textContent = "";
      if (c) {
        var badge = document.createElement("span");
        badge.className = "badge" + (c.stock_state === "in_stock" ? "" : " " + c.stock_state);
        badge.setAttribute("data-testid", "stock-state");
        badge.textContent = c.stock_label;
        stock.appendChild(badge);
      }
      $("variant-unavailable").hidden = !!c;
      button.disabled = !c || c.stock_state === "out";
      var params = new URLSearchParams(window.location.search);
      model.axes.forEach(function (axis, i) { params.set("opt." + axis, values[i]); });
      window.history.replaceState(null, "", "?" + params.toString());
      document.querySelector('[data-testid="add-to-cart"] input[name="next"]').value = window.location.pathname + "?" + params.toString();
    }
    form.addEventListener("change", update);
    form.addEventListener("submit", function (e) { e.preventDefault(); update(); });
    document.addEventListener("click", function (e) {
      var a = e.target.closest && e.target.closest("[data-gallery-thumb]");
      if (!a) { return; }
      e.preventDefault();
      var main = document.querySelector(".gallery img.main");
      if (main) { main.src = a.getAttribute("href"); }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
