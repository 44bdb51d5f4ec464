# Settings of search and train blocks are checked by name, type and range.
import "prelude.nas";

network net : cifar_base { cells search_normal, search_reduce; }

search {
  network net;
  weighting maxw;
  order third;
  epochs 0;
  batch 64;
  weigths sgd(lr = 0.025);
  arch adam(lr = 3e-4, betas = (0.5, 1.5));
  schedule cosine_power(min = 1e-4, order = 0.5);
  augment crop(4), flip, cutot(16);
}

train {
  network nett;
  epochs 10;
  drop_path 1.5;
}

# ---- expected diagnostics ----
#> settings.nas:12:3: error: unknown search setting 'weigths' (did you mean 'weights'?)
#>       weigths sgd(lr = 0.025);
#>       ^~~~~~~
#> settings.nas:8:13: error: 'weighting' of search must be one of: scalar max_w; not 'maxw' (did you mean 'max_w'?)
#>       weighting maxw;
#>                 ^~~~
#> settings.nas:9:9: error: 'order' of search must be one of: first second; not 'third'
#>       order third;
#>             ^~~~~
#> settings.nas:10:10: error: 'epochs' of search must be within [1, 1e+06], not 0
#>       epochs 0;
#>              ^
#> settings.nas:13:38: error: 'betas' of adam must be within [0, 0.999999]
#>       arch adam(lr = 3e-4, betas = (0.5, 1.5));
#>                                          ^~~
#> settings.nas:14:37: error: 'order' of cosine_power must be within [1, 1e+06], not 0.5
#>       schedule cosine_power(min = 1e-4, order = 0.5);
#>                                         ^~~~~~~~~~~
#> settings.nas:15:26: error: augment must be one of: crop flip cutout autoaugment; not 'cutot' (did you mean 'cutout'?)
#>       augment crop(4), flip, cutot(16);
#>                              ^~~~~~~~~
#> settings.nas:19:11: error: unknown network 'nett' (did you mean 'net'?)
#>       network nett;
#>               ^~~~
#> settings.nas:21:13: error: 'drop_path' of train must be within [0, 0.999], not 1.5
#>       drop_path 1.5;
#>                 ^~~
#> 9 errors
