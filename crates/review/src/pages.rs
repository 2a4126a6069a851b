//! The review page, rendered from `templates/` through the one environment of
//! [`assay_core::html`] (every value escaped); the compiled-in style sheet and script carry the
//! response's CSP nonce. The page holds no answer: the script fetches each as JSON and shows it
//! with `textContent`.

use std::sync::LazyLock;

use minijinja::{context, Environment, Value};

use crate::Review;

const STYLE: &str = include_str!("../assets/review.css");
const SCRIPT: &str = include_str!("../assets/review.js");

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = assay_core::html::environment();
    for (name, source) in [
        ("base.html", include_str!("../templates/base.html")),
        ("review.html", include_str!("../templates/review.html")),
    ] {
        // Compiled-in sources; the tests render every template, so this cannot fail at run time.
        env.add_template(name, source)
            .expect("built-in template parses");
    }
    env
});

/// The review page for `review`, its inline style and script allowed by `nonce`.
pub(crate) fn review_page(nonce: &str, review: &Review) -> String {
    let config = review.config();
    let ctx = context! {
        nonce,
        run => &config.run_id,
        reviewer => &config.reviewer,
        total => review.entries().len(),
        seed => config.seed,
        order => if config.uniform { "uniform" } else { "uncertain first" },
        style => Value::from_safe_string(STYLE.to_string()),
        script => Value::from_safe_string(SCRIPT.to_string()),
    };
    TEMPLATES
        .get_template("review.html")
        .and_then(|t| t.render(ctx))
        .unwrap_or_else(|e| {
            // Our templates and context, tested: a failure is a bug, logged, not a panic.
            tracing::error!("assay review: rendering the page failed: {e:#}");
            "<!doctype html><title>assay review</title><p>This page could not be rendered; see the terminal running assay review.</p>".to_string()
        })
}
