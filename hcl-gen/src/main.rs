//! bankplatform-gen: generator of the multi-account HCL tree (issue #4; not built yet).
fn main() {
    eprintln!("bankplatform-gen: not implemented yet (see issue #4)");
    std::process::exit(2);
}
