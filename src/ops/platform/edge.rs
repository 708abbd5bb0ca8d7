//! `sopixi platform edge --nginx`: the configuration of a stock nginx that serves every partner
//! of a platform target from the object store by its host name: the live release (or, for a
//! partner published in place, its prefix), previews at `NAME--ID.` + the preview domain (with
//! `noindex`), a suspended partner's notice, withheld pages' notices, each site's own 404 with
//! status 404, and a platform page for a host no partner has. Every response names what it
//! serves in `X-Sopixi-Release`. A switch (publish, rollback, promote, suspension, deletion)
//! takes effect by writing the configuration again and `nginx -s reload`: the partners' files
//! are never rewritten.
//!
//! In: the target's `_routes.json` and each partner's `_releases.json`. Out: `DIR/nginx.conf`
//! (complete, runs unprivileged with `nginx -p DIR -c nginx.conf`), `DIR/sopixi-sites.conf` (the
//! server blocks, to include in an existing nginx) and `DIR/pages/` (the notices).

use std::fmt::Write as _;
use std::path::Path;

use crate::deploy::{releases, Target};
use crate::ops::platform::routes::{Routes, ROUTES};
use crate::util::text::escape_html;

/// What the edge is told.
#[derive(Debug, Clone)]
pub struct EdgeOptions {
    /// The object store's HTTP address as nginx reaches it (`127.0.0.1:8333`).
    pub upstream: String,
    /// The bucket.
    pub bucket: String,
    /// `ADDR:PORT` to listen on.
    pub listen: String,
    /// Host suffix of previews (`preview.example.net`): `NAME--ID.` + it.
    pub preview_domain: Option<String>,
}

/// What was written.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct EdgeReport {
    /// Partners served.
    pub partners: usize,
    /// Host names served (previews included).
    pub hosts: usize,
    /// Partners served from a release (the others from their prefix, published in place).
    pub releases: usize,
    /// Previews served.
    pub previews: usize,
    /// Files of kept releases a page of theirs may still ask for during a switch (see `pins`).
    pub pinned_files: usize,
    /// Redirects served (the releases' aliases).
    pub redirects: usize,
    /// Partners whose new live release this configuration does not serve yet: it serves the
    /// release the running configuration serves, and already knows the new one's files. Reload
    /// nginx, then write the configuration again to finish the switch (`--reload` does both).
    pub pending: usize,
}

/// What the configuration last written serves (`DIR/edge-state.json`): a switch is made in two
/// steps when the running configuration has never heard of the new release.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct EdgeState {
    /// Partner → the release its hosts serve.
    served: std::collections::BTreeMap<String, String>,
    /// Partner → every release whose files the configuration serves (the served one and the
    /// pinned ones).
    known: std::collections::BTreeMap<String, Vec<String>>,
}

const EDGE_STATE: &str = "edge-state.json";

/// A host name or path safe to write in nginx's configuration as it is.
fn safe(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._/~%".contains(&b))
}

fn notice(title: &str, text: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"robots\" content=\"noindex\"><title>{t}</title></head><body><h1>{t}</h1><p>{x}</p></body></html>\n",
        t = escape_html(title),
        x = escape_html(text)
    )
}

/// One server block: a host set served from a release (or a prefix).
struct Block<'a> {
    hosts: &'a [String],
    /// `/bucket/prefix` of the partner.
    prefix: String,
    /// The release served (`None`: the prefix itself, published in place).
    release: Option<&'a str>,
    /// `/bucket/prefix/_platform`: the platform's own files, once per version.
    shared: &'a str,
    /// The partner, when its pages may name files of its other kept releases.
    pinned: Option<&'a str>,
    noindex: bool,
    withheld: &'a [(String, usize)],
    redirects: &'a [Redirect],
}

/// The server block of `b`.
fn server_block(out: &mut String, opts: &EdgeOptions, pages: &str, b: &Block) {
    let _ = writeln!(out, "server {{\n    listen {};\n    server_name {};", opts.listen, b.hosts.join(" "));
    // The release of each response: the live one, or the kept one a page's file names.
    let root = match (b.release, b.pinned) {
        (Some(r), Some(id)) => {
            let _ = writeln!(
                out,
                "    set $sopixi_partner \"{id}\";\n    set $sopixi_rel \"{r}\";\n    if ($sopixi_pin) {{ set $sopixi_rel $sopixi_pin; }}"
            );
            format!("{}/{}/$sopixi_rel", b.prefix, releases::DIR)
        }
        (Some(r), None) => {
            let _ = writeln!(out, "    set $sopixi_rel \"{r}\";");
            format!("{}/{}/{r}", b.prefix, releases::DIR)
        }
        (None, _) => {
            let _ = writeln!(out, "    set $sopixi_rel \"in-place\";");
            b.prefix.clone()
        }
    };
    // `add_header` in a location replaces the server's: every location says them all.
    let mut headers = String::from("add_header X-Sopixi-Release $sopixi_rel always; ");
    if b.noindex {
        headers.push_str("add_header X-Robots-Tag \"noindex\" always; ");
    }
    let _ = writeln!(out, "    {headers}");
    for (path, n) in b.withheld {
        let _ =
            writeln!(out, "    location = {path} {{ error_page 451 /_sopixi_edge/withheld-{n}.html; return 451; }}");
    }
    for r in b.redirects {
        let _ = writeln!(out, "    location = {} {{ {headers}return {} {}; }}", r.from, r.status, r.to);
        if let Some(bare) = r.from.strip_suffix('/').filter(|f| !f.is_empty()) {
            if !b.redirects.iter().any(|o| o.from == bare) {
                let _ = writeln!(out, "    location = {bare} {{ {headers}return {} {}; }}", r.status, r.to);
            }
        }
    }
    // The platform's files: the version the page names from the shared copy, else (a release
    // published before they were shared, an unknown version) the release's own copy.
    let _ = writeln!(
        out,
        "    location ^~ /{asset}/ {{\n        {headers}\n        proxy_hide_header Cache-Control;\n        add_header Cache-Control $sopixi_cache always;\n        proxy_pass http://sopixi_store{shared}/$sopixi_v$uri;\n        proxy_intercept_errors on;\n        error_page 403 404 = @sopixi_own;\n    }}\n    location @sopixi_own {{\n        {headers}\n        proxy_hide_header Cache-Control;\n        add_header Cache-Control $sopixi_cache always;\n        proxy_pass http://sopixi_store{root}$uri;\n        proxy_intercept_errors on;\n    }}",
        asset = crate::policy::compliance::ASSET_DIR,
        shared = b.shared,
    );
    let _ = writeln!(
        out,
        "    location /_sopixi_edge/ {{ internal; default_type text/html; alias {pages}/; }}\n    location = /_redirects {{ return 404; }}\n    location / {{\n        {headers}\n        proxy_hide_header Cache-Control;\n        add_header Cache-Control $sopixi_cache always;\n        rewrite ^(.*)/$ $1/index.html break;\n        proxy_pass http://sopixi_store{root}$uri;\n        proxy_intercept_errors on;\n        error_page 403 404 /_sopixi_404;\n    }}\n    location = /_sopixi_404 {{\n        internal;\n        proxy_pass http://sopixi_store{root}/404.html;\n        proxy_intercept_errors off;\n        proxy_hide_header Cache-Control;\n        {headers}add_header Cache-Control \"no-cache\" always;\n    }}\n}}"
    );
}

/// A redirect of a release's `_redirects` (its aliases): exact paths only.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Redirect {
    from: String,
    to: String,
    status: u16,
}

/// The redirects of `_redirects` that nginx can serve as they are: `FROM TO [STATUS]` with an
/// exact path (no `*`, no `:placeholder`), a path or `https://` address as target, and a
/// 301, 302, 307 or 308 status (301 when none is given). Other lines are left out.
fn parse_redirects(text: &str) -> Vec<Redirect> {
    let mut out: Vec<Redirect> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let status = match f.get(2) {
            None => 301,
            Some(s) => match s.trim_end_matches('!').parse::<u16>() {
                Ok(c @ (301 | 302 | 307 | 308)) => c,
                _ => continue,
            },
        };
        let (Some(from), Some(to)) = (f.first(), f.get(1)) else { continue };
        let to_ok = (to.starts_with('/') && safe(to))
            || to.strip_prefix("https://").or_else(|| to.strip_prefix("http://")).is_some_and(safe);
        if !from.starts_with('/') || from.contains(['*', ':']) || !safe(from) || !to_ok || f.len() > 3 {
            continue;
        }
        if !out.iter().any(|r| r.from == *from) {
            out.push(Redirect { from: from.to_string(), to: to.to_string(), status });
        }
    }
    out
}

/// The redirects of release `id` of `partner` (none when it has no `_redirects`).
async fn redirects_of(partner: &Target, id: &str) -> Result<Vec<Redirect>, String> {
    let release = partner.sub(&format!("{}/{id}", releases::DIR));
    let text = release.get_small(crate::build::REDIRECTS).await.map_err(|e| e.to_string())?;
    Ok(text.map(|(b, _)| parse_redirects(&String::from_utf8_lossy(&b))).unwrap_or_default())
}

/// The files a page of another kept release may name that the live release serves otherwise:
/// `partner|/path|version` → release. A file the live release has with other bytes is pinned
/// by the version its URL carries (`?v=`, see `get_url(cachebust=true)`); a file the live
/// release does not have (a resized image of the old photo, a renamed script) by its path
/// alone. Pages themselves never are: a page gone from the live release stays gone.
async fn pins(
    partner: &Target,
    id: &str,
    state: &releases::State,
    live: &str,
) -> Result<Vec<(String, String)>, String> {
    let manifest = |r: &str| {
        let t = partner.sub(&format!("{}/{r}", releases::DIR));
        async move { crate::deploy::read_manifest_async(&t).await.map_err(|e| e.to_string()) }
    };
    let Some(live_m) = manifest(live).await? else { return Ok(Vec::new()) };
    let mut others: Vec<&releases::Release> =
        state.releases.iter().filter(|r| r.id != live && r.preview.is_none()).collect();
    others.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for r in others {
        let Some(m) = manifest(&r.id).await? else { continue };
        for (path, e) in &m.files {
            let lower = path.to_ascii_lowercase();
            if lower.ends_with(".html") || lower.ends_with(".htm") || !safe(path) {
                continue;
            }
            let v = &e.hash[..e.hash.len().min(10)];
            let mut keys = Vec::new();
            match live_m.files.get(path) {
                Some(l) if l.hash == e.hash => continue,
                Some(_) => keys.push(format!("{id}|/{path}|{v}")),
                None => {
                    keys.push(format!("{id}|/{path}|"));
                    keys.push(format!("{id}|/{path}|{v}"));
                }
            }
            for k in keys {
                if seen.insert(k.clone()) {
                    out.push((k, r.id.clone()));
                }
            }
        }
    }
    Ok(out)
}

/// Writes the configuration for the platform target `target` into `dir`.
pub fn write(target: &Target, opts: &EdgeOptions, dir: &Path) -> Result<EdgeReport, String> {
    let rt = crate::util::runtime::new().map_err(|e| format!("cannot start the network runtime: {e}"))?;
    let r = rt.block_on(write_async(target, opts, dir));
    rt.shutdown_background();
    r
}

async fn write_async(target: &Target, opts: &EdgeOptions, dir: &Path) -> Result<EdgeReport, String> {
    let routes = target
        .get_small(ROUTES)
        .await
        .map_err(|e| e.to_string())?
        .map(|(b, _)| Routes::parse(&b))
        .transpose()?
        .ok_or_else(|| format!("{} has no {ROUTES}: run `sopixi platform build … --to` first", target.display))?;
    let pages = dir.join("pages");
    std::fs::create_dir_all(&pages).map_err(|e| format!("cannot write {}: {e}", pages.display()))?;
    std::fs::create_dir_all(dir.join("tmp")).map_err(|e| format!("cannot write {}: {e}", dir.display()))?;
    let write_page = |name: &str, html: &str| {
        std::fs::write(pages.join(name), html).map_err(|e| format!("cannot write {}: {e}", pages.join(name).display()))
    };
    write_page("unknown.html", &notice("No site here", "No site of this platform is served at this address."))?;
    let pages_dir = pages.display().to_string();
    let mut report = EdgeReport::default();
    let mut sites = String::new();
    let mut pin_lines = Vec::new();
    let mut withheld_n = 0usize;
    let before: EdgeState =
        std::fs::read(dir.join(EDGE_STATE)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    let mut after = EdgeState::default();
    let base = target.prefix().to_string();
    let bucket = &opts.bucket;
    let shared = match base.as_str() {
        "" => format!("/{bucket}/{}", crate::ops::platform::state::SHARED),
        b => format!("/{bucket}/{b}/{}", crate::ops::platform::state::SHARED),
    };
    for (id, route) in &routes.partners {
        let hosts: Vec<String> = route.domains.iter().filter(|h| safe(h)).cloned().collect();
        let prefix = route.prefix.trim_end_matches('/');
        if hosts.is_empty() || !safe(prefix) || !safe(id) {
            continue;
        }
        report.partners += 1;
        report.hosts += hosts.len();
        if route.status == "suspended" {
            let name = format!("suspended-{id}.html");
            let reason = route.reason.clone().unwrap_or_default();
            write_page(
                &name,
                &notice("This site is suspended", &format!("This site is not available for now. {reason}")),
            )?;
            let _ = writeln!(
                sites,
                "server {{\n    listen {};\n    server_name {};\n    add_header X-Sopixi-Release \"suspended\" always;\n    location /_sopixi_edge/ {{ internal; default_type text/html; alias {pages}/; }}\n    location / {{ error_page 503 /_sopixi_edge/{name}; return 503; }}\n}}",
                opts.listen,
                hosts.join(" "),
                pages = pages_dir,
            );
            continue;
        }
        let sub = prefix.strip_prefix(&format!("{base}/")).unwrap_or(prefix);
        let partner = target.sub(sub);
        let state = releases::read_state(&partner).await.map_err(|e| e.to_string())?.0;
        let mut withheld = Vec::new();
        for w in &route.withheld {
            let path = if w.path.starts_with('/') { w.path.clone() } else { format!("/{}", w.path) };
            if !safe(&path) {
                continue;
            }
            withheld_n += 1;
            write_page(
                &format!("withheld-{withheld_n}.html"),
                &notice("This page is withheld", &format!("This page is not available. {}", w.reason)),
            )?;
            withheld.push((path, withheld_n));
        }
        let store_prefix = format!("/{bucket}/{prefix}");
        let mut live = state.live.as_deref().filter(|l| safe(l));
        // A release the running configuration does not know goes live in two steps: first the
        // configuration learns its files (while serving the release it served), then it serves
        // it. No worker of either configuration then serves a page whose files it cannot find.
        if let (Some(l), Some(old)) = (live, before.served.get(id)) {
            let known = before.known.get(id).is_some_and(|k| k.iter().any(|x| x == l));
            if old != l && !known && state.find(old).is_some() {
                live = Some(old.as_str());
                report.pending += 1;
            }
        }
        if let Some(l) = live {
            after.served.insert(id.clone(), l.to_string());
            let known = state.releases.iter().filter(|r| r.preview.is_none()).map(|r| r.id.clone()).collect();
            after.known.insert(id.clone(), known);
        }
        let (redirects, pinned) = match live {
            Some(l) => {
                report.releases += 1;
                let found = pins(&partner, id, &state, l).await?;
                report.pinned_files += found.len();
                pin_lines.extend(found);
                (redirects_of(&partner, l).await?, Some(id.as_str()))
            }
            None => (Vec::new(), None),
        };
        report.redirects += redirects.len();
        let block = Block {
            hosts: &hosts,
            prefix: store_prefix.clone(),
            release: live,
            shared: &shared,
            pinned,
            noindex: false,
            withheld: &withheld,
            redirects: &redirects,
        };
        server_block(&mut sites, opts, &pages_dir, &block);
        if let Some(domain) = &opts.preview_domain {
            for r in state.releases.iter().filter(|r| r.preview.is_some() && safe(&r.id)) {
                let name = r.preview.as_deref().unwrap_or_default();
                let host = [format!("{name}--{id}.{domain}")];
                if !safe(&host[0]) {
                    continue;
                }
                report.previews += 1;
                report.hosts += 1;
                let redirects = redirects_of(&partner, &r.id).await?;
                let block = Block {
                    hosts: &host,
                    prefix: store_prefix.clone(),
                    release: Some(&r.id),
                    shared: &shared,
                    pinned: None,
                    noindex: true,
                    withheld: &withheld,
                    redirects: &redirects,
                };
                server_block(&mut sites, opts, &pages_dir, &block);
            }
        }
    }
    write_files(dir, opts, &pin_lines, &sites, &after)?;
    Ok(report)
}

/// Writes `sopixi-sites.conf` (the maps, the default server, `sites`), `nginx.conf` and the
/// edge's state into `dir`.
fn write_files(
    dir: &Path,
    opts: &EdgeOptions,
    pin_lines: &[(String, String)],
    sites: &str,
    after: &EdgeState,
) -> Result<(), String> {
    let d = dir.display().to_string();
    let upstream = &opts.upstream;
    // Keys are short ASCII: a bucket as long as the longest key keeps nginx's hash valid.
    let longest = pin_lines.iter().map(|(k, v)| k.len() + v.len()).max().unwrap_or(0);
    let bucket_size = (longest + 64).next_power_of_two().max(128);
    // The pin map reads `$sopixi_partner`, which only a partner served from a release sets: the
    // default server declares it too, or nginx refuses a configuration with no such partner (all
    // suspended or deleted).
    let mut pin_map = format!(
        "map_hash_bucket_size {bucket_size};\nmap_hash_max_size {};\nmap \"$sopixi_partner|$uri|$arg_v\" $sopixi_pin {{\n    default \"\";\n",
        (pin_lines.len() * 2).max(2048)
    );
    for (k, rel) in pin_lines {
        let _ = writeln!(pin_map, "    \"{k}\" \"{rel}\";");
    }
    pin_map.push_str("}\n");
    let http = format!(
        "upstream sopixi_store {{ server {upstream}; keepalive 16; }}\nproxy_http_version 1.1;\nproxy_set_header Connection \"\";\nproxy_set_header Host {upstream};\nproxy_hide_header x-amz-request-id;\nproxy_hide_header x-amz-id-2;\nproxy_hide_header Set-Cookie;\nproxy_ignore_headers Set-Cookie;\nproxy_method GET;\n{pin_map}map $arg_v $sopixi_v {{\n    \"~^[0-9a-f]{{10}}$\" $arg_v;\n    default \"none\";\n}}\nmap $arg_v $sopixi_cache {{\n    \"\" $upstream_http_cache_control;\n    default \"public, max-age=31536000, immutable\";\n}}\nserver {{\n    listen {listen} default_server;\n    server_name _;\n    set $sopixi_partner \"\";\n    add_header X-Sopixi-Release \"none\" always;\n    location /_sopixi_edge/ {{ internal; default_type text/html; alias {d}/pages/; }}\n    location / {{ error_page 404 /_sopixi_edge/unknown.html; return 404; }}\n}}\n{sites}",
        listen = opts.listen
    );
    let sites_path = dir.join("sopixi-sites.conf");
    std::fs::write(&sites_path, &http).map_err(|e| format!("cannot write {}: {e}", sites_path.display()))?;
    let conf = format!(
        "# Written by `sopixi platform edge --nginx`: run `nginx -p {d} -c nginx.conf -e {d}/error.log`.\nworker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 1024; }}\nhttp {{\n    access_log {d}/access.log;\n    client_body_temp_path {d}/tmp/body;\n    proxy_temp_path {d}/tmp/proxy;\n    fastcgi_temp_path {d}/tmp/fastcgi;\n    uwsgi_temp_path {d}/tmp/uwsgi;\n    scgi_temp_path {d}/tmp/scgi;\n    include {d}/sopixi-sites.conf;\n}}\n"
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).map_err(|e| format!("cannot write {}: {e}", conf_path.display()))?;
    let state_path = dir.join(EDGE_STATE);
    std::fs::write(&state_path, serde_json::to_vec_pretty(&after).unwrap_or_default())
        .map_err(|e| format!("cannot write {}: {e}", state_path.display()))?;
    Ok(())
}

/// The nginx binary: `nginx` on the `PATH`, else Debian's `/usr/sbin/nginx`.
pub fn nginx_binary() -> std::path::PathBuf {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("nginx"))
        .find(|p| p.is_file());
    on_path.unwrap_or_else(|| std::path::PathBuf::from("/usr/sbin/nginx"))
}

/// The processes whose parent is `pid` (Linux `/proc`).
fn children(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(|e| {
        let child: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).ok()?;
        // `pid (comm) state ppid …`: the name may hold spaces and parentheses.
        let ppid: u32 = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
        (ppid == pid).then_some(child)
    })
    .collect()
}

/// Reloads the nginx running `DIR/nginx.conf` and waits until every worker of the previous
/// configuration has finished (at most `wait`): after it, no request is served by the old one.
pub fn reload(dir: &Path, wait: std::time::Duration) -> Result<(), String> {
    let pid_file = dir.join("nginx.pid");
    let master: u32 = std::fs::read_to_string(&pid_file).ok().and_then(|t| t.trim().parse().ok()).ok_or_else(|| {
        format!(
            "no running nginx: {} is missing (start it with nginx -p {d} -c nginx.conf)",
            pid_file.display(),
            d = dir.display()
        )
    })?;
    let old = children(master);
    let out = std::process::Command::new(nginx_binary())
        .arg("-p")
        .arg(dir)
        .args(["-c", "nginx.conf", "-e"])
        .arg(dir.join("error.log"))
        .args(["-s", "reload"])
        .output()
        .map_err(|e| format!("cannot run nginx: {e}"))?;
    if !out.status.success() {
        return Err(format!("nginx refused the configuration: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let t = std::time::Instant::now();
    loop {
        let now = children(master);
        if !now.is_empty() && !now.iter().any(|p| old.contains(p)) {
            return Ok(());
        }
        if t.elapsed() > wait {
            return Err(format!(
                "nginx's previous workers were still serving after {} s (long downloads?); the new configuration is loaded",
                wait.as_secs()
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
