"""The matching API's request bodies and read models, one module per router
(``schemas/<resource>.py`` beside ``api/<resource>.py``). Requests forbid unknown fields;
strings refuse NUL; numbers are bounded."""
