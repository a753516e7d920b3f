fn main() {
    println!("skiff");
}
