// sopixi serve: live reload, stylesheet swap and the error overlay. Added to HTML responses of
// the preview only, never to a build.
(() => {
  const me = document.currentScript;
  let version = Number(me.dataset.version);
  const server = me.dataset.server;
  const OVERLAY = 'sopixi-dev-overlay';

  function esc(s) {
    return String(s ?? '').replace(/[&<>"]/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
  }

  function overlay(errors) {
    let box = document.getElementById(OVERLAY);
    if (!errors || errors.length === 0) {
      if (box) box.remove();
      return;
    }
    if (!box) {
      box = document.createElement('div');
      box.id = OVERLAY;
      box.setAttribute('role', 'alert');
      box.style.cssText = 'position:fixed;inset:0;z-index:2147483647;overflow:auto;background:rgba(20,20,24,.94);' +
        'color:#f4f4f5;font:14px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;padding:24px';
      document.documentElement.appendChild(box);
    }
    const items = errors.map(e => {
      const where = esc(e.file) + (e.line ? ':' + e.line + (e.column ? ':' + e.column : '') : '');
      const hint = e.hint ? '<div style="color:#a1a1aa">' + esc(e.hint) + '</div>' : '';
      return '<li style="margin:0 0 14px"><div style="color:#fca5a5">' + where + '</div><div>' + esc(e.message) +
        '</div>' + hint + '</li>';
    }).join('');
    box.innerHTML = '<div style="font-weight:bold;color:#f87171;margin-bottom:12px">sopixi: the build failed (' +
      errors.length + ' error' + (errors.length === 1 ? '' : 's') + '); showing the last good build. ' +
      'Fix the file and save: this page updates by itself.</div><ul style="list-style:none;margin:0;padding:0">' +
      items + '</ul>';
  }

  function swapCss() {
    for (const link of document.querySelectorAll('link[rel~="stylesheet"]')) {
      const url = new URL(link.href, location.href);
      if (url.origin !== location.origin) continue;
      url.searchParams.set('sopixi-v', String(version));
      const next = link.cloneNode();
      next.href = url.href;
      // Swap once the new sheet is loaded, so the page never shows unstyled.
      next.addEventListener('load', () => link.remove(), { once: true });
      next.addEventListener('error', () => link.remove(), { once: true });
      link.after(next);
    }
  }

  function connect() {
    const es = new EventSource('/_sopixi/dev/events');
    es.addEventListener('hello', e => {
      const d = JSON.parse(e.data);
      // A new build (or a restarted server) since this page was loaded.
      if (d.server !== server || d.version !== version) {
        if (d.errors.length === 0) return location.reload();
      }
      overlay(d.errors);
    });
    es.addEventListener('reload', () => location.reload());
    es.addEventListener('css', e => {
      version = JSON.parse(e.data).version;
      swapCss();
    });
    es.addEventListener('failed', e => {
      const d = JSON.parse(e.data);
      version = d.version;
      overlay(d.errors);
    });
    es.onerror = () => {
      // The server stopped or restarted: try again until it is back.
      es.close();
      setTimeout(connect, 500);
    };
  }
  connect();
})();
