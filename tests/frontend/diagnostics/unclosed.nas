# An unclosed bracket names where it opened.
import "prelude.nas";

primitive broken {
  op: {
    relu;
    conv(3, pad = 1;
  }

# ---- expected diagnostics ----
#> unclosed.nas:7:20: error: syntax error, unexpected ';', expecting ')'
#>         conv(3, pad = 1;
#>                        ^
#> unclosed.nas:7:9: note: inside the '(' opened here
#>         conv(3, pad = 1;
#>             ^
#> unclosed.nas:24:1: error: end of file inside an unclosed '{'
#>     
#>     ^
#> unclosed.nas:4:18: note: the '{' opened here is never closed
#>     primitive broken {
#>                      ^
#> 2 errors
