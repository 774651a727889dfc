//! One module per scenario, each with its options (the shared [`crate::run::LoadArgs`]
//! plus its own) and a `run` that signs its users in and drives its workload. The
//! recital, choir and meetings scenarios come here beside `pages`.

pub mod pages;
