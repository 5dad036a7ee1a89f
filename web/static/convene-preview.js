// Live preview of Markdown beside the news editor. Progressive enhancement: without JavaScript the
// form still works ("Save and preview" shows the exact email). The server renders and sanitises the
// HTML with the same function as the email, so what appears here is what members will see.
(function () {
  "use strict";
  var box = document.querySelector(".convene-live-preview");
  if (!box || !window.fetch) { return; }
  var source = document.getElementById(box.getAttribute("data-source"));
  var target = box.querySelector(".convene-live-preview__body");
  var token = document.querySelector("input[name=csrf_token]");
  if (!source || !target || !token) { return; }
  var timer = null;
  var latest = 0;

  function render() {
    var ticket = ++latest;
    var body = new URLSearchParams();
    body.set("csrf_token", token.value);
    body.set("body", source.value);
    fetch(box.getAttribute("data-preview-url"), {method: "POST", body: body, credentials: "same-origin",
                                                  headers: {"X-CSRFToken": token.value}})
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (ticket !== latest) { return; }
        if (data.html !== undefined) { target.innerHTML = data.html; } else { target.textContent = data.error || ""; }
      })
      .catch(function () { /* the preview is a convenience: the form still works */ });
  }

  box.hidden = false;
  source.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(render, 300);
  });
  render();
})();
