//! Errors in a spec, located by file, line and column, printed the way compilers do.
//!
//! A [`SpecError`] carries the location of the offending block or attribute, a message
//! saying what was expected, and an optional help line ("did you mean `role`?").
//! [`SpecErrors`] collects every error found in one pass, so a person fixes them all at once.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A position in a spec file; line and column are one-based, the column counts characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The spec file as given on the command line.
    pub file: PathBuf,
    /// One-based line.
    pub line: usize,
    /// One-based column, in characters.
    pub column: usize,
}

/// One problem in a spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    /// Where it is.
    pub location: Location,
    /// What is wrong and what was expected.
    pub message: String,
    /// A hint on how to fix it, such as "did you mean `role`?".
    pub help: Option<String>,
    /// The source line, for the excerpt under the message.
    pub source_line: String,
    /// How many characters to underline from the column.
    pub width: usize,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let loc = &self.location;
        let num = loc.line.to_string();
        let pad = " ".repeat(num.len());
        writeln!(f, "error: {}", self.message)?;
        writeln!(
            f,
            "{pad}--> {}:{}:{}",
            loc.file.display(),
            loc.line,
            loc.column
        )?;
        writeln!(f, "{pad} |")?;
        writeln!(f, "{num} | {}", self.source_line)?;
        write!(
            f,
            "{pad} | {}{}",
            " ".repeat(loc.column.saturating_sub(1)),
            "^".repeat(self.width.max(1))
        )?;
        if let Some(help) = &self.help {
            write!(f, "\n{pad} = help: {help}")?;
        }
        Ok(())
    }
}

/// Every problem found in a spec, in source order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct SpecErrors(pub Vec<SpecError>);

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        let n = self.0.len();
        write!(
            f,
            "\n\n{n} error{} in the spec",
            if n == 1 { "" } else { "s" }
        )
    }
}

/// The source text of a spec and its file name: turns byte spans into [`SpecError`]s.
#[derive(Clone, Debug)]
pub struct Source {
    file: PathBuf,
    text: String,
}

impl Source {
    /// A source named `file` holding `text`.
    pub fn new(file: impl AsRef<Path>, text: impl Into<String>) -> Self {
        Source {
            file: file.as_ref().to_path_buf(),
            text: text.into(),
        }
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The location of byte offset `offset`.
    pub fn location(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = self.text[line_start..offset].chars().count() + 1;
        Location {
            file: self.file.clone(),
            line,
            column,
        }
    }

    /// The text of one-based line `line`, without its newline.
    pub fn line_text(&self, line: usize) -> String {
        self.text
            .lines()
            .nth(line.saturating_sub(1))
            .unwrap_or("")
            .to_string()
    }

    /// An error at `span` (byte offsets); the underline stops at the end of the line.
    pub fn error(&self, span: Option<Range<usize>>, message: impl Into<String>) -> SpecError {
        let span = span.unwrap_or(0..0);
        let location = self.location(span.start);
        let source_line = self.line_text(location.line);
        let rest = source_line
            .chars()
            .count()
            .saturating_sub(location.column - 1);
        let width = self
            .text
            .get(span.clone())
            .map_or(1, |s| s.lines().next().unwrap_or("").chars().count())
            .clamp(1, rest.max(1));
        SpecError {
            location,
            message: message.into(),
            help: None,
            source_line,
            width,
        }
    }
}

impl SpecError {
    /// The same error with a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a typo.
pub fn did_you_mean<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_close_words_only() {
        assert_eq!(did_you_mean("rol", ["role", "email", "id"]), Some("role"));
        assert_eq!(
            did_you_mean("dr_stratgy", ["account", "dr_strategy"]),
            Some("dr_strategy")
        );
        assert_eq!(did_you_mean("zzzzzz", ["role", "email"]), None);
    }

    #[test]
    fn locations_are_one_based_characters() {
        let src = Source::new("a.hcl", "x = 1\n  ÿy = 2\n");
        let loc = src.location(src.text().find('y').unwrap());
        assert_eq!((loc.line, loc.column), (2, 4));
    }
}
