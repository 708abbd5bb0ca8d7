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
}

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

/// The server block of one host set serving objects under `root` (`/bucket/prefix/…`).
#[allow(clippy::too_many_arguments)]
fn server_block(
    out: &mut String,
    opts: &EdgeOptions,
    pages: &str,
    hosts: &[String],
    root: &str,
    release: &str,
    noindex: bool,
    withheld: &[(String, usize)],
) {
    let _ = writeln!(out, "server {{\n    listen {};\n    server_name {};", opts.listen, hosts.join(" "));
    let _ = writeln!(out, "    add_header X-Sopixi-Release \"{release}\" always;");
    if noindex {
        let _ = writeln!(out, "    add_header X-Robots-Tag \"noindex\" always;");
    }
    for (path, n) in withheld {
        let _ =
            writeln!(out, "    location = {path} {{ error_page 451 /_sopixi_edge/withheld-{n}.html; return 451; }}");
    }
    let _ = writeln!(
        out,
        "    location /_sopixi_edge/ {{ internal; default_type text/html; alias {pages}/; }}\n    location / {{\n        rewrite ^(.*)/$ $1/index.html break;\n        proxy_pass http://sopixi_store{root}$uri;\n        proxy_intercept_errors on;\n        error_page 403 404 /_sopixi_404;\n    }}\n    location = /_sopixi_404 {{\n        internal;\n        proxy_pass http://sopixi_store{root}/404.html;\n        proxy_intercept_errors off;\n        proxy_hide_header Cache-Control;\n        add_header Cache-Control \"no-cache\" always;\n        add_header X-Sopixi-Release \"{release}\" always;\n    }}\n}}"
    );
}

/// Writes the configuration for the platform target `target` into `dir`.
pub fn write(target: &Target, opts: &EdgeOptions, dir: &Path) -> Result<EdgeReport, String> {
    let rt = crate::util::runtime::new().map_err(|e| format!("cannot start the network runtime: {e}"))?;
    let routes = rt
        .block_on(target.get_small(ROUTES))
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
    let mut withheld_n = 0usize;
    let base = target.prefix().to_string();
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
        let state = releases::list(&partner).map_err(|e| e.to_string())?;
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
        let bucket = &opts.bucket;
        match &state.live {
            Some(live) => {
                report.releases += 1;
                let root = format!("/{bucket}/{prefix}/{}/{live}", releases::DIR);
                server_block(&mut sites, opts, &pages_dir, &hosts, &root, live, false, &withheld);
            }
            None => server_block(
                &mut sites,
                opts,
                &pages_dir,
                &hosts,
                &format!("/{bucket}/{prefix}"),
                "in-place",
                false,
                &withheld,
            ),
        }
        if let Some(domain) = &opts.preview_domain {
            for r in state.releases.iter().filter(|r| r.preview.is_some()) {
                let name = r.preview.as_deref().unwrap_or_default();
                let host = format!("{name}--{id}.{domain}");
                if !safe(&host) {
                    continue;
                }
                report.previews += 1;
                report.hosts += 1;
                let root = format!("/{bucket}/{prefix}/{}/{}", releases::DIR, r.id);
                server_block(&mut sites, opts, &pages_dir, &[host], &root, &r.id, true, &withheld);
            }
        }
    }
    let d = dir.display().to_string();
    let upstream = &opts.upstream;
    let http = format!(
        "upstream sopixi_store {{ server {upstream}; keepalive 16; }}\nproxy_http_version 1.1;\nproxy_set_header Connection \"\";\nproxy_set_header Host {upstream};\nproxy_hide_header x-amz-request-id;\nproxy_hide_header x-amz-id-2;\nproxy_hide_header Set-Cookie;\nproxy_ignore_headers Set-Cookie;\nproxy_method GET;\nserver {{\n    listen {listen} default_server;\n    server_name _;\n    add_header X-Sopixi-Release \"none\" always;\n    location /_sopixi_edge/ {{ internal; default_type text/html; alias {d}/pages/; }}\n    location / {{ error_page 404 /_sopixi_edge/unknown.html; return 404; }}\n}}\n{sites}",
        listen = opts.listen
    );
    let sites_path = dir.join("sopixi-sites.conf");
    std::fs::write(&sites_path, &http).map_err(|e| format!("cannot write {}: {e}", sites_path.display()))?;
    let conf = format!(
        "# Written by `sopixi platform edge --nginx`: run `nginx -p {d} -c nginx.conf -e {d}/error.log`.\nworker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 1024; }}\nhttp {{\n    access_log {d}/access.log;\n    client_body_temp_path {d}/tmp/body;\n    proxy_temp_path {d}/tmp/proxy;\n    fastcgi_temp_path {d}/tmp/fastcgi;\n    uwsgi_temp_path {d}/tmp/uwsgi;\n    scgi_temp_path {d}/tmp/scgi;\n    include {d}/sopixi-sites.conf;\n}}\n"
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).map_err(|e| format!("cannot write {}: {e}", conf_path.display()))?;
    Ok(report)
}
