//! What every command shares for talking back: error lines, JSON on stdout, the usage exit code.

/// Exit code for usage, configuration and input errors.
pub const EXIT_USAGE: i32 = 2;

/// Prints an error and returns `code`.
pub fn fail(message: &str, code: i32) -> i32 {
    eprintln!("error: {message}");
    code
}

/// Prints JSON to stdout.
pub fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: cannot render JSON: {e}"),
    }
}
