//! HTTP(S) transport for the MPC pool.
//!
//! Not implemented yet: this crate is a shell that the HTTP transport issue
//! fills (an axum server and reqwest clients speaking the Python
//! `tno.mpc.communication` 5.x exchange, with mutual TLS).
#![deny(missing_docs)]
