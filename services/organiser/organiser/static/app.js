// Small progressive enhancements of the organiser page; everything works without them.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  var busy = form.getAttribute("data-busy");
  if (busy) {
    var button = form.querySelector("button[type=submit]");
    if (button) {
      button.disabled = true;
      button.textContent = busy;
    }
  }
});
// The attendance sheet's print button (the browser's own print works as well).
document.addEventListener("click", function (event) {
  if (event.target && event.target.id === "print-sheet") {
    window.print();
  }
});
