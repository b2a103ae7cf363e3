//! Bad specs: each error names the file, line and column, says what was expected, and
//! suggests the likely fix.

mod common;

use std::path::Path;

use bankplatform_gen::diag::SpecError;
use bankplatform_gen::init::{spec_text, SpecParams};
use bankplatform_gen::spec;

fn example() -> String {
    spec_text(&SpecParams::example())
}

/// Parses `text`, expecting errors.
fn errors(text: &str) -> Vec<SpecError> {
    match spec::parse(Path::new("bad.hcl"), text) {
        Ok(_) => panic!("the spec was accepted"),
        Err(e) => e.0,
    }
}

/// The one-based line and column of the `nth` occurrence of `needle` in `text`.
fn pos(text: &str, needle: &str, nth: usize) -> (usize, usize) {
    let off = text
        .match_indices(needle)
        .nth(nth)
        .expect("needle present")
        .0;
    let line = text[..off].matches('\n').count() + 1;
    let col = off - text[..off].rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

fn at(e: &SpecError) -> (usize, usize) {
    (e.location.line, e.location.column)
}

#[test]
fn the_example_is_valid() {
    spec::parse(Path::new("ok.hcl"), &example()).unwrap();
}

#[test]
fn syntax_error_has_the_parser_location() {
    let e = errors("organization {\n  name = \"x\"\n  tags = {\n}\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].message.starts_with("syntax error"), "{}", e[0].message);
    assert_eq!(e[0].location.file, Path::new("bad.hcl"));
    assert!(e[0].location.line >= 3, "{:?}", e[0].location);
}

#[test]
fn unknown_key_suggests_the_closest() {
    let text = example().replace("  role  = \"security\"", "  rol   = \"security\"");
    let e = errors(&text);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].message, "unknown key `rol` in `account \"security\"`");
    assert_eq!(e[0].help.as_deref(), Some("did you mean `role`?"));
    assert_eq!(at(&e[0]), pos(&text, "rol ", 0));
    let shown = e[0].to_string();
    assert!(shown.contains("--> bad.hcl:"), "{shown}");
}

#[test]
fn unknown_top_level_block_lists_the_keys_when_nothing_is_close() {
    let text = format!("{}\nwidgets {{\n}}\n", example());
    let e = errors(&text);
    assert_eq!(e[0].message, "unknown key `widgets` in the top level");
    assert!(
        e[0].help
            .as_deref()
            .unwrap()
            .starts_with("expected one of: organization"),
        "{:?}",
        e[0].help
    );
    assert_eq!(at(&e[0]), pos(&text, "widgets", 0));
}

#[test]
fn bad_enum_value_suggests_the_closest() {
    let text = example().replace("\"pilot_light\"", "\"pilot_lite\"");
    let e = errors(&text);
    assert!(
        e[0].message
            .contains("`dr_strategy` must be one of \"backup_restore\""),
        "{}",
        e[0].message
    );
    assert_eq!(e[0].help.as_deref(), Some("did you mean \"pilot_light\"?"));
    assert_eq!(at(&e[0]), pos(&text, "\"pilot_lite\"", 0));
}

#[test]
fn wrong_type_says_what_was_expected() {
    let text = example().replace(
        "prefix                   = 16",
        "prefix                   = \"16\"",
    );
    let e = errors(&text);
    assert_eq!(
        e[0].message,
        "`prefix` must be a whole number, not a string"
    );
    assert_eq!(at(&e[0]), pos(&text, "\"16\"", 0));
}

#[test]
fn duplicate_account_names_point_at_the_second() {
    let text = format!(
        "{}\naccount \"security\" {{\n  role  = \"security\"\n  email = \"a@b.c\"\n}}\n",
        example()
    );
    let e = errors(&text);
    assert!(
        e[0].message
            .starts_with("duplicate account name `security` (first defined at line "),
        "{}",
        e[0].message
    );
    assert_eq!(at(&e[0]), pos(&text, "\"security\" {", 1));
}

#[test]
fn unknown_account_reference_suggests_the_closest() {
    let text = example().replace(
        "account     = \"production\"",
        "account     = \"prodution\"",
    );
    let e = errors(&text);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(
        e[0].message,
        "environment `prod` refers to unknown account `prodution`"
    );
    assert_eq!(e[0].help.as_deref(), Some("did you mean `production`?"));
    assert_eq!(at(&e[0]), pos(&text, "\"prodution\"", 0));
}

#[test]
fn dr_strategy_without_secondary_region() {
    let text = example().replace("  secondary = \"eu-central-1\"\n", "");
    let e = errors(&text);
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!(
        e[0].message,
        "DR strategy \"pilot_light\" of environment `test` needs a secondary region, and none is configured"
    );
    assert_eq!(at(&e[0]), pos(&text, "\"pilot_light\"", 0));
}

#[test]
fn overlapping_cidrs_name_both_environments() {
    let text = example()
        .replace(
            "  dr_strategy = \"backup_restore\"\n",
            "  dr_strategy = \"backup_restore\"\n\n  network {\n    cidr = \"10.20.0.0/16\"\n  }\n",
        )
        .replace(
            "  dr_strategy = \"warm_standby\"\n",
            "  dr_strategy = \"warm_standby\"\n\n  network {\n    cidr           = \"10.30.0.0/16\"\n    secondary_cidr = \"10.20.128.0/17\"\n  }\n",
        );
    let e = errors(&text);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(
        e[0].message,
        "the secondary network of environment `prod` (10.20.128.0/17) overlaps the network of environment `dev` (10.20.0.0/16): both contain 10.20.128.0/17"
    );
    assert_eq!(at(&e[0]), pos(&text, "\"10.20.128.0/17\"", 0));
}

#[test]
fn missing_standard_role() {
    let text = example().replace("role  = \"log_archive\"", "role  = \"workload\"");
    let e = errors(&text);
    assert_eq!(e[0].message, "no account has role \"log_archive\"");
    assert!(e[0]
        .help
        .as_deref()
        .unwrap()
        .contains("\"management\", \"security\", \"log_archive\", \"shared_services\""));
    assert_eq!(at(&e[0]), pos(&text, "organization {", 0));
}

#[test]
fn invalid_account_id_and_missing_required() {
    let text = example()
        .replace("id    = \"210000000002\"", "id    = \"2100\"")
        .replace("  email = \"aws+testing@acme-bank.example\"\n", "");
    let e = errors(&text);
    assert_eq!(
        e[0].message,
        "`account \"testing\"` is missing the required attribute `email`"
    );
    assert_eq!(at(&e[0]), pos(&text, "account \"testing\"", 0));
    let text = example().replace("id    = \"210000000002\"", "id    = \"2100\"");
    let e = errors(&text);
    assert_eq!(e[0].message, "account id \"2100\" must be 12 digits");
}

#[test]
fn expressions_are_refused() {
    let text = example().replace("name = \"acme-bank\"", "name = var.org");
    let e = errors(&text);
    assert_eq!(e[0].message, "`name` must be a string, not a reference");
    assert!(e[0]
        .help
        .as_deref()
        .unwrap()
        .contains("literal values only"));
}

#[test]
fn pipelines_name_one_project_and_locks_fit_the_terraform_version() {
    let base = example();
    // Both CIs: the deploy roles trust one.
    let both = base.replace(
        "  repository        = \"acme-bank/platform\"",
        "  repository        = \"acme-bank/platform\"\n  gitlab_project    = \"acme-bank/platform\"",
    );
    let e = errors(&both);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].message.contains("either repository"),
        "{}",
        e[0].message
    );
    assert_eq!(at(&e[0]).0, pos(&both, "gitlab_project", 0).0);
    // A wildcard where the project goes.
    let wide = base.replace("\"acme-bank/platform\"", "\"acme-bank/*\"");
    let e = errors(&wide);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].message.contains("does not name one project"),
        "{}",
        e[0].message
    );
    // S3 lock files asked of a Terraform that has none.
    let old = base
        .replace(
            "terraform_version = \"1.15.5\"",
            "terraform_version = \"1.9.8\"",
        )
        .replace(
            "  lock          = true",
            "  lock          = true\n  lock_with     = \"lockfile\"",
        );
    let e = errors(&old);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].message.contains("lock_with = \"dynamodb\""),
        "{}",
        e[0].message
    );
    assert_eq!(at(&e[0]).0, pos(&old, "lock_with", 0).0);
    // A list where the spec expects one, with a non-string item.
    let list = base.replace(
        "  terraform_version = \"1.15.5\"",
        "  terraform_version = \"1.15.5\"\n  protected_environments = [\"prod\", 3]",
    );
    let e = errors(&list);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].message
            .contains("items of `protected_environments` must be strings"),
        "{}",
        e[0].message
    );
}
