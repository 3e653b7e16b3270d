// Fits each email's frame to its content, so nothing in it is cut off (a phone's narrow
// frame wraps the email into more lines than a fixed height holds). The frames are sandboxed
// without scripts; "allow-same-origin" lets this page, and only it, measure them.
(function () {
  "use strict";
  function fit(frame) {
    var doc = frame.contentDocument;
    if (!doc || !doc.documentElement) {
      return;
    }
    frame.style.height = "0px"; // measure the content at the frame's own width
    frame.style.height = doc.documentElement.scrollHeight + 2 + "px";
  }
  function fitAll() {
    document.querySelectorAll("iframe.email-frame").forEach(fit);
  }
  document.querySelectorAll("iframe.email-frame").forEach(function (frame) {
    frame.addEventListener("load", function () {
      fit(frame);
    });
    fit(frame);
  });
  window.addEventListener("resize", fitAll);
})();
