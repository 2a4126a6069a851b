//! A user's mistake is one line on stderr, even with RUST_BACKTRACE=1 set (as it is on many
//! Rust developers' machines): each cause once, a TOML error without the snippet it draws.
//! `-v` (or RUST_LIB_BACKTRACE=1) gives every cause on its own line and the backtrace.

use std::path::Path;
use std::process::Command;

fn stderr_of(args: &[&str], env: &[(&str, &str)], dir: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LIB_BACKTRACE")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    String::from_utf8(out.stderr).unwrap()
}

/// Fails unless `stderr` is one line starting with `Error: ` and without noise.
fn one_line(stderr: &str) -> &str {
    let line = stderr.strip_suffix('\n').unwrap_or(stderr);
    assert!(!line.contains('\n'), "more than one line: {stderr}");
    assert!(line.starts_with("Error: "), "{stderr}");
    assert!(
        !line.contains("backtrace") && !line.contains("Caused by"),
        "{stderr}"
    );
    line
}

#[test]
fn user_errors_are_one_line_whatever_rust_backtrace_says() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "x\n").unwrap();
    let backtrace = [("RUST_BACKTRACE", "1")];

    // An I/O error quoted by the error above it was printed twice.
    let missing = stderr_of(
        &["grade", "refusal", "--input", "missing.csv"],
        &backtrace,
        dir.path(),
    );
    let line = one_line(&missing);
    assert_eq!(line.matches("os error 2").count(), 1, "{line}");
    assert!(line.starts_with("Error: missing.csv: "), "{line}");

    // A TOML error drew its snippet over four lines, then repeated it.
    let toml = stderr_of(
        &[
            "guard",
            "--upstream",
            "local:smollm2",
            "--config",
            "bad.toml",
        ],
        &backtrace,
        dir.path(),
    );
    let line = one_line(&toml);
    assert!(
        line.starts_with("Error: bad.toml: TOML parse error at line 1, column 2: "),
        "{line}"
    );
    assert_eq!(line.matches("TOML parse error").count(), 1, "{line}");
    assert!(!line.contains(" | "), "{line}");

    // Verbose: the causes one per line, and the backtrace RUST_BACKTRACE=1 captured.
    for (args, env) in [
        (
            vec!["-v", "grade", "refusal", "--input", "missing.csv"],
            vec![("RUST_BACKTRACE", "1")],
        ),
        (
            vec!["grade", "refusal", "--input", "missing.csv"],
            vec![("RUST_LIB_BACKTRACE", "1")],
        ),
    ] {
        let verbose = stderr_of(&args, &env, dir.path());
        assert!(verbose.starts_with("Error: missing.csv: "), "{verbose}");
        assert!(verbose.contains("\nCaused by:\n"), "{verbose}");
        assert!(verbose.contains("Stack backtrace:"), "{verbose}");
    }
}

#[test]
fn a_key_in_a_mistyped_model_name_is_not_printed() {
    let dir = tempfile::tempdir().unwrap();
    // The key after the model (where parameters go), and a parameter assay does not know.
    let key = "sk-proj-ABCDEFGHIJKLMNOPQRSTUV1234567890";
    let name = format!("http://127.0.0.1:9/v1#m?api_key={key}");
    let stderr = stderr_of(&["chat", "--model", &name, "hi"], &[], dir.path());
    let line = one_line(&stderr);
    assert!(line.contains("invalid model name"), "{line}");
    assert!(line.contains("#m?api_key=***"), "{line}");
    assert!(!line.contains("ABCDEFGH"), "{line}");
}
