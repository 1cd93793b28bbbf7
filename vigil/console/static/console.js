// Progressive enhancement only: every page works without this script.
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", () => {
      document.querySelectorAll('input[name="ids"]:not(:disabled)').forEach((box) => { box.checked = all.checked; });
    });
  }
});
