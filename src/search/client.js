/* Sopixi site search: no dependency, no eval, no WASM, no request to another host.
   A search form: <form data-search-index="/_search/LANG/i.HASH.json" data-lang="LANG"> with an
   <input type="search" name="q">, and an element [data-search-results] (a list, filled) and
   [data-search-count] (a live status). Reads ?q= from the page's URL. */
(function () {
  "use strict";
  /* The same folding as the build (src/search/mod.rs, `fold`): lower case, these letters replaced. */
  var FOLD = {"à": "a", "á": "a", "â": "a", "ã": "a", "ä": "a", "å": "a", "ā": "a", "ă": "a", "ą": "a", "ç": "c", "ć": "c", "ĉ": "c", "ċ": "c", "č": "c", "ď": "d", "đ": "d", "ð": "d", "è": "e", "é": "e", "ê": "e", "ë": "e", "ē": "e", "ĕ": "e", "ė": "e", "ę": "e", "ě": "e", "ĝ": "g", "ğ": "g", "ġ": "g", "ģ": "g", "ĥ": "h", "ħ": "h", "ì": "i", "í": "i", "î": "i", "ï": "i", "ĩ": "i", "ī": "i", "ĭ": "i", "į": "i", "ı": "i", "ĵ": "j", "ķ": "k", "ĺ": "l", "ļ": "l", "ľ": "l", "ŀ": "l", "ł": "l", "ñ": "n", "ń": "n", "ņ": "n", "ň": "n", "ò": "o", "ó": "o", "ô": "o", "õ": "o", "ö": "o", "ø": "o", "ō": "o", "ŏ": "o", "ő": "o", "ŕ": "r", "ŗ": "r", "ř": "r", "ś": "s", "ŝ": "s", "ş": "s", "š": "s", "ș": "s", "ţ": "t", "ť": "t", "ŧ": "t", "ț": "t", "ù": "u", "ú": "u", "û": "u", "ü": "u", "ũ": "u", "ū": "u", "ŭ": "u", "ů": "u", "ű": "u", "ų": "u", "ŵ": "w", "ý": "y", "ÿ": "y", "ŷ": "y", "ź": "z", "ż": "z", "ž": "z", "œ": "oe", "æ": "ae", "ß": "ss", "þ": "th"};
  function fold(w) {
    var s = w.toLowerCase(), out = "";
    for (var ch of s) out += FOLD[ch] || ch;
    return out;
  }
  function stem(w, lang) {
    var n = Array.from(w).length;
    lang = (lang || "").split(/[-_]/)[0];
    if (lang === "fr") {
      if (n > 3 && /[sx]$/.test(w)) w = w.slice(0, -1);
      if (Array.from(w).length > 3 && /e$/.test(w)) w = w.slice(0, -1);
      return w;
    }
    if (lang === "en") {
      if (n > 4 && /ies$/.test(w)) return w.slice(0, -3) + "y";
      if (n > 5 && /ing$/.test(w)) return w.slice(0, -3);
      if (n > 4 && /ed$/.test(w)) return w.slice(0, -2);
      if (n > 3 && /s$/.test(w) && !/ss$/.test(w)) w = w.slice(0, -1);
      if (Array.from(w).length > 3 && /e$/.test(w)) w = w.slice(0, -1);
      return w;
    }
    return w;
  }
  function words(text, lang) {
    var m = text.match(/[\p{L}\p{N}]+/gu) || [];
    var out = [];
    for (var i = 0; i < m.length; i++) {
      if (Array.from(m[i]).length < 2 && !/\p{N}/u.test(m[i])) continue;
      var w = stem(fold(m[i]), lang);
      if (w && out.indexOf(w) < 0) out.push(w);
    }
    return out.slice(0, 8);
  }

  var cache = {};
  /* The index files are gzipped JSON: unzipped here unless the host did it already. */
  function get(url) {
    if (!cache[url]) {
      cache[url] = fetch(url, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error(url + ": " + r.status);
        return r.arrayBuffer();
      }).then(function (buf) {
        var b = new Uint8Array(buf);
        if (b.length > 2 && b[0] === 0x1f && b[1] === 0x8b) {
          return new Response(new Blob([b]).stream().pipeThrough(new DecompressionStream("gzip"))).text();
        }
        return new TextDecoder().decode(b);
      }).then(JSON.parse);
    }
    return cache[url];
  }
  function dirOf(manifestUrl) {
    return manifestUrl.slice(0, manifestUrl.lastIndexOf("/") + 1);
  }
  /* The chunks that may hold terms starting with `p`: from the last whose first term is <= p,
     up to the last whose first term starts with p. */
  function chunksFor(m, p) {
    var lo = 0, hi = m.chunks.length - 1, first = 0;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (m.chunks[mid][0] <= p) { first = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    var out = [first];
    for (var i = first + 1; i < m.chunks.length && m.chunks[i][0].indexOf(p) === 0; i++) out.push(i);
    return out;
  }

  /* doc id → score for the word `w` (the best of the terms it starts, exact ones first). */
  function scoresFor(m, dir, w) {
    var ids = chunksFor(m, w);
    return Promise.all(ids.map(function (i) { return get(dir + "t." + m.chunks[i][1] + ".bin"); })).then(function (chunks) {
      var scores = {}, n = m.n || 1;
      chunks.forEach(function (c) {
        for (var t = 0; t < c.t.length; t++) {
          var term = c.t[t];
          if (term.indexOf(w) !== 0) continue;
          var p = c.p[t], df = p.length / 2;
          var idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
          var exact = term === w ? 1 : 0.6, id = 0;
          for (var k = 0; k < p.length; k += 2) {
            id = k === 0 ? p[0] : id + p[k];
            var s = p[k + 1] * idf * exact;
            if (!scores[id] || scores[id] < s) scores[id] = s;
          }
        }
      });
      return scores;
    });
  }

  function search(manifestUrl, lang, query) {
    var dir = dirOf(manifestUrl);
    var ws = words(query, lang);
    if (!ws.length) return Promise.resolve({ words: [], hits: [] });
    return get(manifestUrl).then(function (m) {
      return Promise.all(ws.map(function (w) { return scoresFor(m, dir, w); })).then(function (per) {
        var total = {}, count = {};
        per.forEach(function (s) {
          for (var id in s) { total[id] = (total[id] || 0) + s[id]; count[id] = (count[id] || 0) + 1; }
        });
        var all = Object.keys(total);
        var every = all.filter(function (id) { return count[id] === ws.length; });
        var ids = (every.length ? every : all).sort(function (a, b) { return total[b] - total[a] || a - b; });
        return { words: ws, hits: ids.map(Number), manifest: m, dir: dir };
      });
    });
  }

  /* The rows ([address, title, text]) of documents `ids` of a search's result `r`. */
  function docs(r, ids) {
    var m = r.manifest;
    return Promise.all(ids.map(function (id) {
      var k = Math.floor(id / m.per);
      return get(r.dir + "d." + m.docs.substr(k * 10, 10) + ".bin").then(function (rows) { return rows[id % m.per]; });
    }));
  }

  /* The text around the first matched word, with every matched word marked (DOM nodes, no HTML). */
  function excerpt(text, ws, lang, into, whole) {
    var re = /[\p{L}\p{N}]+/gu, m, hits = [];
    while ((m = re.exec(text))) {
      var w = stem(fold(m[0]), lang);
      for (var i = 0; i < ws.length; i++) {
        if (w.indexOf(ws[i]) === 0) { hits.push([m.index, m.index + m[0].length]); break; }
      }
    }
    var start = whole || !hits.length ? 0 : Math.max(0, hits[0][0] - 60);
    var end = whole ? text.length : Math.min(text.length, start + 220);
    if (start > 0) into.appendChild(document.createTextNode("… "));
    var at = start;
    hits.forEach(function (h) {
      if (h[0] < at || h[1] > end) return;
      into.appendChild(document.createTextNode(text.slice(at, h[0])));
      var mark = document.createElement("mark");
      mark.textContent = text.slice(h[0], h[1]);
      into.appendChild(mark);
      at = h[1];
    });
    into.appendChild(document.createTextNode(text.slice(at, end) + (end < text.length ? " …" : "")));
  }

  function setup(form) {
    var manifest = form.getAttribute("data-search-index");
    var lang = form.getAttribute("data-lang") || document.documentElement.lang || "";
    var input = form.querySelector("input[name=q]");
    var list = document.querySelector("[data-search-results]");
    var status = document.querySelector("[data-search-count]");
    if (!manifest || !input || !list) return;
    var texts = {
      none: form.getAttribute("data-none") || "No result",
      one: form.getAttribute("data-one") || "1 result",
      many: form.getAttribute("data-many") || "{n} results",
    };
    var shown = 10, last = 0, timer = 0;
    function run() {
      var q = input.value, token = ++last;
      if (!q.trim()) { list.textContent = ""; if (status) status.textContent = ""; return; }
      search(manifest, lang, q).then(function (r) {
        if (token !== last) return;
        return docs(r, r.hits.slice(0, shown)).then(function (rows) {
          if (token !== last) return;
          list.textContent = "";
          rows.forEach(function (row) {
            var li = document.createElement("li");
            var a = document.createElement("a");
            a.href = row[0];
            excerpt(row[1] || row[0], r.words, lang, a, true);
            var p = document.createElement("p");
            excerpt(row[2] || "", r.words, lang, p);
            li.appendChild(a);
            li.appendChild(p);
            list.appendChild(li);
          });
          var n = r.hits.length;
          if (status) status.textContent = n === 0 ? texts.none : n === 1 ? texts.one : texts.many.replace("{n}", n);
        });
      }).catch(function () { if (status) status.textContent = texts.none; });
    }
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 60); });
    form.addEventListener("submit", function (e) { e.preventDefault(); run(); });
    /* Arrow keys move between the query and the results. */
    form.parentNode.addEventListener("keydown", function (e) {
      if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
      var links = Array.prototype.slice.call(list.querySelectorAll("a"));
      if (!links.length) return;
      var at = links.indexOf(document.activeElement);
      if (e.key === "ArrowDown") { (links[at + 1] || links[links.length - 1]).focus(); e.preventDefault(); }
      else if (at > 0) { links[at - 1].focus(); e.preventDefault(); }
      else if (at === 0) { input.focus(); e.preventDefault(); }
    });
    var q = new URLSearchParams(location.search).get("q");
    if (q) { input.value = q; run(); }
  }

  function start() {
    var forms = document.querySelectorAll("form[data-search-index]");
    for (var i = 0; i < forms.length; i++) setup(forms[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  window.siteSearch = { fold: fold, stem: stem, words: words, search: search, docs: docs };
})();
