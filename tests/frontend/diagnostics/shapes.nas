# Shape and channel mismatches point at the operation and state both shapes.
import "prelude.nas";

primitive bad_pool { max_pool(3, stride = 1, pad = 0); }
ops SHRINKS = [skip_connect, dil_flood_conv_5x5];
cell shrinking { steps 2; edge mixed(SHRINKS); }
network net1 : cifar_base { cells shrinking, shrinking; }

cell pools { node (skip_connect, 0), (bad_pool, 1); }
network net2 : cifar_base { cells pools, pools; }

primitive lopsided {
  concat {
    { conv(1, stride = 2, out = C_out / 2); }
    { conv(3, stride = 1, pad = 1, out = C_out / 2); }
  }
}
cell lop { node (lopsided, 0), (skip_connect, 1); }
network net3 : cifar_base { cells lop, lop; }

primitive grouped { conv(3, pad = 1, groups = 5, out = C_out); }
cell grp { node (grouped, 0), (skip_connect, 1); }
network net4 : cifar_base { cells grp, grp; }

# ---- expected diagnostics ----
#> shapes.nas:6:27: error: candidate 'dil_flood_conv_5x5' gives [N,16,28,28] but 'skip_connect' gives [N,16,32,32] in cell 0
#>     cell shrinking { steps 2; edge mixed(SHRINKS); }
#>                               ^~~~~~~~~~~~~~~~~~~~
#> shapes.nas:5:30: note: 'dil_flood_conv_5x5' is listed here
#>     ops SHRINKS = [skip_connect, dil_flood_conv_5x5];
#>                                  ^~~~~~~~~~~~~~~~~~
#> shapes.nas:9:38: error: node 2 of cell 0: edge (bad_pool, 1) gives [N,16,30,30] but edge (skip_connect, 0) gives [N,16,32,32]
#>     cell pools { node (skip_connect, 0), (bad_pool, 1); }
#>                                          ^~~~~~~~~~~~~
#> shapes.nas:13:3: error: concat: input 1 is 8x32x32 but input 0 is 8x16x16; spatial sizes must match
#>       concat {
#>       ^~~~~~~~
#> shapes.nas:18:17: note: in cell 0 (lop), edge (lopsided, 0)
#>     cell lop { node (lopsided, 0), (skip_connect, 1); }
#>                     ^~~~~~~~~~~~~
#> shapes.nas:21:38: error: conv: 5 groups do not divide 16 input and 16 output channels
#>     primitive grouped { conv(3, pad = 1, groups = 5, out = C_out); }
#>                                          ^~~~~~~~~~
#> 4 errors
