//! The Trunk bundle's entry: the app rendered in the browser (`--features csr`).

fn main() {
    frontend::mount();
}
