pub mod attr;
pub mod bang;
pub mod comment;
pub mod content;
pub mod instruction;
pub mod script;
pub mod style;
pub mod tag;
