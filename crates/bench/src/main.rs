//! Native benchmark of the very training code the browser runs: trains a network on Fashion-MNIST from
//! `static/data/` and prints one JSON line of figures.
//!
//! `cargo run --release --bin bench -- --model cnn --epochs 15 [--train-size N] [--val PERCENT]
//!  [--batch 64] [--lr 0.001] [--no-augment] [--backend cpu|wgpu] [--steps N] [--save model.bpk]`; any
//!  model (`logreg`, `svm`, `forest`, `knn`, `mlp`, ...) with the URL's keys for its settings
//!  (`--trees 100 --parallel`). `--save` writes the trained model as the page's model file; `--load FILE`
//!  scores a saved model on the test set instead of training one; `--tta` tests with mirror images too.
//!  `--data DIR` reads another IDX set; `--data fashion-colour` tints Fashion-MNIST; `--data
//!  cifar10:PATH` (or `cifar100:`) reads CIFAR's binary files from a folder or the `.tar.gz`. On wgpu,
//!  `--wgrad products|direct` says how the convolutions' weight gradients are computed (as matrix
//!  products, or burn's direct kernel; by default products unless the adapter runs on the CPU).

use std::collections::HashMap;

use atelier_bench as bench;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut options = HashMap::new();
    let mut i = 0;
    while i < args.len() {
        let key = args[i].trim_start_matches("--").to_string();
        if key.starts_with("no-") || i + 1 >= args.len() || args[i + 1].starts_with("--") {
            options.insert(key, "true".to_string());
            i += 1;
        } else {
            options.insert(key, args[i + 1].clone());
            i += 2;
        }
    }
    match bench::run(&options) {
        Ok(line) => println!("{line}"),
        Err(message) => {
            eprintln!("bench: {message}");
            std::process::exit(2);
        }
    }
}
