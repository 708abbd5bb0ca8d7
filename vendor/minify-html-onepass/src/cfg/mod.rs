/// Configuration settings that can be adjusted and passed to a minification function to change the
/// minification approach.
#[derive(Default)]
pub struct Cfg {
  /// If enabled, JavaScript in `<script>` tags are minified using
  /// [minify-js](https://github.com/wilsonzlin/minify-js).
  ///
  /// Only `<script>` tags with a valid or no
  /// [MIME type](https://mimesniff.spec.whatwg.org/#javascript-mime-type) is considered to
  /// contain JavaScript, as per the specification.
  pub minify_js: bool,

  /// If enabled, CSS in `<style>` tags are minified.
  pub minify_css: bool,

  /// SOPIXI: write HTML the W3C Nu checker accepts where the input allows it: a value written
  /// quoted stays quoted when the spec forbids it unquoted (it holds `"`, `'`, `=`, `<` or `` ` ``,
  /// or is empty), and a space written between attributes stays. Off: upstream's output, byte for
  /// byte. (Minification is in place: neither change ever writes more bytes than the input had.)
  pub valid_html: bool,
}

impl Cfg {
  pub fn new() -> Cfg {
    Cfg::default()
  }
}
