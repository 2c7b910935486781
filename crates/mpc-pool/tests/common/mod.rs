pub mod proxy;
pub mod raw;
