# Syntax errors: the parser recovers at `;` and `}` and reports each.
import "prelude.nas";

primitive a { relu; conv(3 pad = 1); bn; }
primitive b { relu; conv(3, out = ); }
ops L = [a, b,, none];
network n : cifar_base { C 16 layers 8; cells x, y; }

# ---- expected diagnostics ----
#> syntax.nas:4:28: error: syntax error, unexpected identifier, expecting ')'
#>     primitive a { relu; conv(3 pad = 1); bn; }
#>                                ^~~
#> syntax.nas:4:25: note: inside the '(' opened here
#>     primitive a { relu; conv(3 pad = 1); bn; }
#>                             ^
#> syntax.nas:5:35: error: syntax error, unexpected ')'
#>     primitive b { relu; conv(3, out = ); }
#>                                       ^
#> syntax.nas:5:13: note: inside the '{' opened here
#>     primitive b { relu; conv(3, out = ); }
#>                 ^
#> syntax.nas:6:15: error: syntax error, unexpected ',', expecting ']'
#>     ops L = [a, b,, none];
#>                   ^
#> syntax.nas:6:9: note: inside the '[' opened here
#>     ops L = [a, b,, none];
#>             ^
#> syntax.nas:7:31: error: syntax error, unexpected identifier, expecting ';' or ','
#>     network n : cifar_base { C 16 layers 8; cells x, y; }
#>                                   ^~~~~~
#> syntax.nas:7:24: note: inside the '{' opened here
#>     network n : cifar_base { C 16 layers 8; cells x, y; }
#>                            ^
#> 4 errors
