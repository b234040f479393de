// The page's only script: stepping through the frames with ←/→ (Home/End), the slider,
// clicks on the timeline and #step-N links. It reads no trace text: it only shows and hides
// elements the generator wrote.
export const CLIENT_SCRIPT = `(function () {
  'use strict';
  var frames = document.querySelectorAll('.frame');
  var rows = document.querySelectorAll('.tl .r');
  var slider = document.getElementById('slider');
  var pos = document.getElementById('pos');
  var pane = document.querySelector('.timeline');
  var last = frames.length - 1;
  var cur = -1;
  function show(k, fromHash) {
    k = Math.max(0, Math.min(last, k));
    if (k === cur) return;
    cur = k;
    for (var i = 0; i < frames.length; i++) frames[i].hidden = i !== k;
    for (var j = 0; j < rows.length; j++) {
      var on = Number(rows[j].getAttribute('data-step')) === k;
      rows[j].classList.toggle('sel', on);
      if (on) {
        var box = rows[j].querySelector('.step') || rows[j].querySelector('.num');
        if (box && pane) {
          // Keep the selected step within the part of the timeline that is on screen.
          var pr = pane.getBoundingClientRect();
          var visTop = Math.max(pr.top, 0);
          var visBottom = Math.min(pr.bottom, window.innerHeight);
          var br = box.getBoundingClientRect();
          if (br.top < visTop + 30 || br.bottom > visBottom - 30) pane.scrollTop += br.top - (visTop + (visBottom - visTop) / 3);
        }
      }
    }
    slider.value = String(k);
    pos.textContent = k === 0 ? 'start' : 'step ' + k + ' / ' + last;
    if (!fromHash && history.replaceState) history.replaceState(null, '', '#step-' + k);
  }
  function fromHash() {
    var m = /^#step-(\\d+)$/.exec(location.hash);
    return m ? Number(m[1]) : null;
  }
  document.addEventListener('keydown', function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === 'ArrowRight') show(cur + 1), e.preventDefault();
    else if (e.key === 'ArrowLeft') show(cur - 1), e.preventDefault();
    else if (e.key === 'Home') show(0), e.preventDefault();
    else if (e.key === 'End') show(last), e.preventDefault();
  });
  slider.addEventListener('input', function () { show(Number(slider.value)); });
  document.getElementById('prev').addEventListener('click', function () { show(cur - 1); });
  document.getElementById('next').addEventListener('click', function () { show(cur + 1); });
  var jump = document.getElementById('jump');
  if (jump) jump.addEventListener('click', function () { show(Number(jump.getAttribute('data-step'))); });
  for (var r = 0; r < rows.length; r++) {
    rows[r].addEventListener('click', function (e) {
      if (e.target && e.target.closest && e.target.closest('a[href^="http"]')) return;
      show(Number(this.getAttribute('data-step')));
    });
  }
  window.addEventListener('hashchange', function () { var k = fromHash(); if (k !== null) show(k, true); });
  var start = fromHash();
  show(start === null ? Number(document.body.getAttribute('data-start') || 0) : start, start !== null);
})();
`;
