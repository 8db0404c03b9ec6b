//! What a refused request means for the model, and what to do next: each [`DavError`] of a
//! file operation becomes a tool error that names the status and the next step.

use spud_dav::DavError;
use spud_sdk::ToolError;

/// The operation that failed, which decides the advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Checking the input.
    Input,
    /// `list`.
    List,
    /// `read`.
    Read,
    /// `write`.
    Write,
    /// `mkdir`.
    Mkdir,
    /// `move`.
    Move,
    /// `delete`.
    Delete,
}

/// The tool error for `e` during `op`: the server's answer and what to do about it.
pub fn err(op: Op, e: DavError) -> ToolError {
    let hint = match (&e, op) {
        (DavError::NotFound { .. }, Op::Move) => {
            "the source is not there: list its folder with webdav.list to find the right name"
        }
        (DavError::NotFound { .. }, _) => {
            "list the folder above it with webdav.list to find the right name"
        }
        (DavError::Forbidden { .. }, Op::List | Op::Read) => {
            "the login has no right to read this, or the server does not allow it here; try another folder"
        }
        (DavError::Forbidden { .. }, _) => {
            "this folder is read-only for the login, or the server does not allow this here; write somewhere else, or ask whoever runs the server"
        }
        (DavError::Conflict { .. }, Op::Write) => {
            "the folder it goes into does not exist: pass create_parents: true, or make it with webdav.mkdir first"
        }
        (DavError::Conflict { .. }, Op::Move) => {
            "the destination's folder does not exist: pass create_parents: true, or make it with webdav.mkdir first"
        }
        (DavError::Conflict { .. }, Op::Mkdir) => {
            "the folder above it does not exist: pass parents: true"
        }
        (DavError::Conflict { .. }, _) => "the server's state conflicts with the request",
        (DavError::Exists(_), _) => {
            "pass overwrite: true to replace it, or write under another name"
        }
        (DavError::Precondition { .. }, Op::Move) => {
            "the destination exists already; pass overwrite: true to replace it, or move under another name"
        }
        (DavError::Precondition { .. }, _) => {
            "it changed on the server meanwhile; read or list it again"
        }
        (DavError::Locked { .. }, _) => {
            "someone holds a lock on it (a person editing the file?); try again later"
        }
        (DavError::InsufficientStorage { .. }, _) => {
            "the server's quota or disk is full; delete files that are no longer needed, or ask whoever runs the server for room"
        }
        (DavError::Status { status: 405, .. }, Op::Read) => {
            "it may be a folder: list it with webdav.list"
        }
        _ => "",
    };
    if hint.is_empty() {
        ToolError::new(e.to_string())
    } else {
        ToolError::new(format!("{e}: {hint}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_says_what_to_do() {
        let nf = DavError::NotFound {
            method: "GET".into(),
            url: "http://h/a.txt".into(),
        };
        assert_eq!(
            err(Op::Read, nf).to_string(),
            "GET http://h/a.txt answered HTTP 404: nothing is there: list the folder above it with webdav.list to find the right name"
        );
        let c = || DavError::Conflict {
            method: "PUT".into(),
            url: "http://h/x/a.txt".into(),
            body: "Conflict".into(),
        };
        assert!(err(Op::Write, c())
            .to_string()
            .contains("create_parents: true"));
        assert!(err(Op::Mkdir, c()).to_string().contains("parents: true"));
        let p = DavError::Precondition {
            method: "MOVE".into(),
            url: "http://h/a".into(),
        };
        assert!(err(Op::Move, p).to_string().contains("overwrite: true"));
        let full = DavError::InsufficientStorage {
            method: "PUT".into(),
            url: "http://h/a".into(),
        };
        assert!(err(Op::Write, full).to_string().contains("HTTP 507"));
        let ro = DavError::Forbidden {
            method: "PUT".into(),
            url: "http://h/archive/a".into(),
            origin: "http://h".into(),
        };
        assert!(err(Op::Write, ro).to_string().contains("read-only"));
    }
}
