//! nb-client (in progress).
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
