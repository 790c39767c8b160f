//! `cargo xtask <command>`: project automation.
fn main() {
    println!("xtask: nothing yet");
}
