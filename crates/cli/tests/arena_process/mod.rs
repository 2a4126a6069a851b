//! A running `assay arena` for the arena's command-line tests.

#![allow(dead_code)] // each test file uses its own part of this

use std::process::Command;

/// The IP salt the arena tests run with (given in the environment, never on the command line).
pub const TEST_SALT: &str = "test-salt";

/// A running `assay arena` on a free port of 127.0.0.1, killed when dropped.
pub struct Arena {
    pub child: crate::common::Running,
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub url: String,
}

impl Arena {
    /// `assay arena --models MODELS --db DB` with [`TEST_SALT`] and a short bootstrap.
    pub fn start(models: &str, db: &str) -> Arena {
        Arena::start_with(models, db, &[], &[("ASSAY_ARENA_IP_SALT", TEST_SALT)])
    }

    /// Like [`Arena::start`], with `extra` arguments and `env` variables (and no salt unless
    /// `env` has one).
    pub fn start_with(models: &str, db: &str, extra: &[&str], env: &[(&str, &str)]) -> Arena {
        let mut command = Command::new(env!("CARGO_BIN_EXE_assay"));
        command
            .args(["arena", "--models", models, "--host", "127.0.0.1"])
            .args(["--port", "0", "--db", db, "--bootstrap-rounds", "20"])
            .args(extra)
            .env_remove("ASSAY_ARENA_IP_SALT");
        for (k, v) in env {
            command.env(k, v);
        }
        let (child, address) = crate::common::start_listening(&mut command, "assay arena");
        let url = address.trim_end_matches('/').to_string();
        Arena { child, url }
    }
}
