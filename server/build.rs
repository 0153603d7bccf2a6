// `sqlx::migrate!` embeds the migrations at compile time: rebuild when one is added or
// changed (cargo would otherwise not look at the folder).
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
