# Unknown names get a "did you mean" suggestion; all errors are reported.
import "prelude.nas";

primitive my_conv {
  rleu;
  conv(3, pad = 1, out = C_out);
  bnn;
}
ops MINE = [my_conv, sep_conv_3x4, max_pool_3x3];
cell mine_normal { steps 2; edge mixed(MINE); }
network net : cifar_bsae { cells mine_normal, mine_normal; }

# ---- expected diagnostics ----
#> unknown_names.nas:5:3: error: unknown operation 'rleu' (did you mean 'relu'?)
#>       rleu;
#>       ^~~~
#> unknown_names.nas:7:3: error: unknown operation 'bnn' (did you mean 'bn'?)
#>       bnn;
#>       ^~~
#> unknown_names.nas:9:22: error: unknown primitive 'sep_conv_3x4' (did you mean 'sep_conv_3x3'?)
#>     ops MINE = [my_conv, sep_conv_3x4, max_pool_3x3];
#>                          ^~~~~~~~~~~~
#> unknown_names.nas:11:15: error: unknown network 'cifar_bsae' (did you mean 'cifar_base'?)
#>     network net : cifar_bsae { cells mine_normal, mine_normal; }
#>                   ^~~~~~~~~~
#> 4 errors
