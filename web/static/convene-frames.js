// Each email preview frame is made as tall as the email it shows, so the whole message reads
// in the page with no scroll box of its own. The frames run nothing (sandboxed without
// scripts); this page reads their height. Without JavaScript they keep their fixed height.
(function () {
  function fit(frame) {
    try {
      var doc = frame.contentDocument;
      if (!doc || !doc.documentElement) return;
      frame.style.height = doc.documentElement.scrollHeight + 2 + "px";
    } catch (e) {
      // Not readable: the fixed height stays.
    }
  }
  document.querySelectorAll("iframe.preview").forEach(function (frame) {
    frame.addEventListener("load", function () { fit(frame); });
    if (frame.contentDocument && frame.contentDocument.readyState === "complete") fit(frame);
  });
})();
