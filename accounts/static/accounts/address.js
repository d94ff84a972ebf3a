/* The address form: China's province -> city -> district selects filled from our own
   /account/addresses/divisions/?parent=<code> (GB/T 2260), and the country switch between the Chinese
   selects and the free-text fields of other countries. Served from our origin (CSP: no inline script). */
(function () {
  var form = document.querySelector("form[data-divisions-url]");
  if (!form) { return; }
  var url = form.getAttribute("data-divisions-url");
  var province = form.querySelector("[data-division-level=province]");
  var city = form.querySelector("[data-division-level=city]");
  var district = form.querySelector("[data-division-level=district]");
  var country = form.querySelector("[data-country-select]");

  function fill(select, rows) {
    var first = select.options[0];
    select.innerHTML = "";
    select.appendChild(first);
    rows.forEach(function (row) {
      var o = document.createElement("option");
      o.value = row[1];
      o.textContent = row[1];
      o.setAttribute("data-code", row[0]);
      select.appendChild(o);
    });
    select.value = "";
  }

  function load(select, parent) {
    fill(select, []);
    if (!parent) { return; }
    select.setAttribute("aria-busy", "true");
    fetch(url + "?parent=" + encodeURIComponent(parent), {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (data) { fill(select, data.divisions || []); })
      .finally(function () { select.removeAttribute("aria-busy"); });
  }

  function codeOf(select) {
    var o = select.options[select.selectedIndex];
    return o ? (o.getAttribute("data-code") || "") : "";
  }

  if (province) {
    province.addEventListener("change", function () { fill(district, []); load(city, codeOf(province)); });
    city.addEventListener("change", function () { load(district, codeOf(city)); });
  }
  if (country) {
    country.addEventListener("change", function () {
      var cn = country.value === "CN";
      var chosen = country.options[country.selectedIndex];
      var label = form.querySelector("[data-region-label]");
      if (label && chosen) { label.textContent = chosen.getAttribute("data-region-label"); }
      var postcode = form.querySelector("[data-postcode]");
      if (postcode && chosen) {
        postcode.hidden = chosen.getAttribute("data-no-postcode") === "1";
        postcode.querySelector("input").placeholder = chosen.getAttribute("data-postcode-hint") || "";
        if (postcode.hidden) { postcode.querySelector("input").value = ""; }
      }
      form.querySelectorAll("[data-country-block]").forEach(function (block) {
        var mine = block.getAttribute("data-country-block") === (cn ? "cn" : "intl");
        block.hidden = !mine;
        block.disabled = !mine;
      });
    });
  }
})();
