/*
 * hurst.h — estimates of the Hurst exponent H of a time series: how the
 * burstiness of traffic persists when it is looked at over longer and
 * longer intervals. H = 0.5: bursts average out like independent noise;
 * 0.5 < H < 1: long-range dependent, self-similar traffic (Leland, Taqqu,
 * Willinger, Wilson, "On the self-similar nature of Ethernet traffic",
 * IEEE/ACM ToN 1994), where averaging over a longer interval smooths the
 * series much less than independence would.
 *
 * Two classic estimators (Taqqu, Teverovsky, Willinger, "Estimators for
 * long-range dependence: an empirical study", Fractals 1995), both a
 * least-squares line through a log-log plot over block sizes m:
 *
 *  - aggregated variance: the variance of the means of blocks of m
 *    points falls as m^(2H-2); H = 1 + slope/2. The sample variance of k
 *    block means around their own mean is biased low by the factor
 *    (k - k^(2H-1))/(k - 1) (the overall mean is itself long-range
 *    dependent), which matters at the largest m and high H; hurst_aggvar
 *    divides it out, re-fitting until H settles.
 *  - rescaled range (R/S), as a cross-check: the mean over blocks of m
 *    points of the range of the cumulative deviations over their standard
 *    deviation grows as m^H; H = slope. Short blocks bias it (about +0.05
 *    on independent noise, -0.06 at H = 0.9 on 1440 points); it is shown
 *    beside the aggregated variance, not instead of it.
 *
 * The confidence given is the standard error of the fitted slope (from the
 * residuals of the regression) converted to H, with the number of points
 * and block sizes used and R² of the fit. The points of a log-log plot are
 * not independent (every block size sees the same data), so that standard
 * error understates the real spread: over 20 series of 1440 points of
 * fractional Gaussian noise the aggregated-variance estimate has an RMS
 * error of 0.04 to 0.05 (H = 0.5 to 0.9, no bias to speak of) where the
 * fit claims 0.005 to 0.01 (tests/graphs/t_hurst.sh prints the figures).
 *
 * Pure functions over a caller's array: no allocation, no I/O.
 */
#ifndef SPANWATCH_HURST_H
#define SPANWATCH_HURST_H

#include <stddef.h>

#define HURST_MIN_POINTS 60	/* fewer: no estimate (three block sizes
				 * of HURST_MIN_BLOCKS blocks need 60) */
#define HURST_MIN_BLOCKS 20	/* aggregated variance: blocks at the largest
				 * m; fewer make the variance too noisy */
#define HURST_MAX_SCALES 48	/* block sizes in one fit */

struct hurst_est {
	double h;		/* the estimate; above 1 the series is not
				 * stationary at these scales (a trend) */
	double se;		/* standard error of h from the fit */
	double r2;		/* R² of the log-log fit */
	double slope;		/* raw fitted slope */
	size_t n;		/* points used */
	size_t nscales;		/* block sizes used (points of the fit) */
	size_t m[HURST_MAX_SCALES];	/* the block sizes */
	double logm[HURST_MAX_SCALES];	/* log10 m */
	double logv[HURST_MAX_SCALES];	/* log10 of the statistic (for the
					 * aggregated variance, corrected) */
};

/* Aggregated-variance estimate over x[0..n-1] (finite values).
 * Returns 0, or -1 if n < HURST_MIN_POINTS or the series is constant. */
int hurst_aggvar(const double *x, size_t n, struct hurst_est *out);

/* Rescaled-range estimate over x[0..n-1] (finite values), block sizes from
 * 8 to n/4. Returns 0, or -1 if n < HURST_MIN_POINTS or the series is
 * constant. */
int hurst_rs(const double *x, size_t n, struct hurst_est *out);

/* The longest run of finite values in x[0..n-1]: sets *start and returns
 * its length (0 if none). RRD series have unknown steps before a file's
 * first update and across sensor outages; the estimators need a gapless
 * series. */
size_t hurst_longest_run(const double *x, size_t n, size_t *start);

#endif
