/*
 * hurst.c — aggregated-variance and rescaled-range estimates of the Hurst
 * exponent (see hurst.h for the methods and their references).
 */
#include "hurst.h"

#include <math.h>

/* Block sizes from lo to hi, spaced evenly on a log scale (ratio at least
 * 1.25, so that small m are not all crowded in) and at most
 * HURST_MAX_SCALES of them. Returns how many were written to m[]. */
static size_t
block_sizes(size_t lo, size_t hi, size_t *m)
{
	double ratio = 1.25;
	size_t n = 0, cur = lo;

	if (lo < 1 || hi < lo)
		return 0;
	if (hi > lo) {
		double need = pow((double)hi / (double)lo,
		    1.0 / (HURST_MAX_SCALES - 1));
		if (need > ratio)
			ratio = need;
	}
	while (cur <= hi && n < HURST_MAX_SCALES) {
		size_t next = (size_t)ceil((double)cur * ratio);

		m[n++] = cur;
		cur = next > cur ? next : cur + 1;
	}
	return n;
}

/* Least-squares line y = a + b x through p points: sets *b, the standard
 * error of b from the residuals, and R². Returns 0, or -1 with fewer than
 * three points or all x equal. */
static int
fit_line(const double *x, const double *y, size_t p, double *b, double *se,
    double *r2)
{
	double mx = 0, my = 0, sxx = 0, sxy = 0, syy = 0, rss;

	if (p < 3)
		return -1;
	for (size_t i = 0; i < p; i++) {
		mx += x[i];
		my += y[i];
	}
	mx /= (double)p;
	my /= (double)p;
	for (size_t i = 0; i < p; i++) {
		sxx += (x[i] - mx) * (x[i] - mx);
		sxy += (x[i] - mx) * (y[i] - my);
		syy += (y[i] - my) * (y[i] - my);
	}
	if (sxx <= 0)
		return -1;
	*b = sxy / sxx;
	rss = syy - *b * sxy;
	if (rss < 0)
		rss = 0;	/* rounding on a perfect fit */
	*se = sqrt(rss / (double)(p - 2) / sxx);
	*r2 = syy > 0 ? 1 - rss / syy : 1;
	return 0;
}

static double
mean_of(const double *x, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += x[i];
	return s / (double)n;
}

/* Sample variance (divisor k-1) of the means of the first k blocks of m
 * points, deviations taken from mu to keep large rates (bytes per second
 * of a backbone) away from cancellation. */
static double
block_mean_var(const double *x, size_t m, size_t k, double mu)
{
	double s = 0, ss = 0;

	for (size_t b = 0; b < k; b++) {
		double bm = 0;

		for (size_t i = 0; i < m; i++)
			bm += x[b * m + i] - mu;
		bm /= (double)m;
		s += bm;
		ss += bm * bm;
	}
	return (ss - s * s / (double)k) / (double)(k - 1);
}

/* E[sample variance of k block means] / Var(block mean) for a series with
 * Hurst exponent h: the variance around the sample mean misses the
 * variance of that mean, k^(2h-2) of the whole. */
static double
aggvar_bias(size_t k, double h)
{
	double kd = (double)k;

	return (kd - pow(kd, 2 * h - 1)) / (kd - 1);
}

int
hurst_aggvar(const double *x, size_t n, struct hurst_est *out)
{
	double raw[HURST_MAX_SCALES], mu, b, se, r2, h, prev;
	size_t p, used = 0;

	if (n < HURST_MIN_POINTS)
		return -1;
	mu = mean_of(x, n);
	p = block_sizes(1, n / HURST_MIN_BLOCKS, out->m);
	for (size_t j = 0; j < p; j++) {
		double v = block_mean_var(x, out->m[j], n / out->m[j], mu);

		/* A block size whose means are all equal says nothing
		 * on a log scale; it only happens for degenerate input. */
		if (!(v > 0))
			continue;
		out->m[used] = out->m[j];
		out->logm[used] = log10((double)out->m[j]);
		raw[used++] = log10(v);
	}
	if (fit_line(out->logm, raw, used, &b, &se, &r2) < 0)
		return -1;
	h = 1 + b / 2;
	/* Fixed-point iteration on the bias correction: it depends on the H
	 * it corrects. H is held below 1, where the correction would divide
	 * by zero; 60 rounds are far more than the 5-10 it takes. */
	for (int it = 0; it < 60; it++) {
		double hc = h < 0 ? 0 : h > 0.99 ? 0.99 : h;

		for (size_t j = 0; j < used; j++)
			out->logv[j] = raw[j] -
			    log10(aggvar_bias(n / out->m[j], hc));
		if (fit_line(out->logm, out->logv, used, &b, &se, &r2) < 0)
			return -1;
		prev = h;
		h = 1 + b / 2;
		if (fabs(h - prev) < 1e-9)
			break;
	}
	out->h = h;
	out->se = se / 2;
	out->r2 = r2;
	out->slope = b;
	out->n = n;
	out->nscales = used;
	return 0;
}

/* Mean R/S over the k = n/m blocks of m points; 0 if every block is
 * constant. */
static double
block_rs(const double *x, size_t m, size_t k)
{
	double sum = 0;
	size_t good = 0;

	for (size_t b = 0; b < k; b++) {
		const double *y = x + b * m;
		double mu = mean_of(y, m), w = 0, lo = 0, hi = 0, ss = 0;

		for (size_t i = 0; i < m; i++) {
			double d = y[i] - mu;

			w += d;
			ss += d * d;
			if (w < lo)
				lo = w;
			if (w > hi)
				hi = w;
		}
		if (ss <= 0)
			continue;
		sum += (hi - lo) / sqrt(ss / (double)m);
		good++;
	}
	return good ? sum / (double)good : 0;
}

int
hurst_rs(const double *x, size_t n, struct hurst_est *out)
{
	double b, se, r2;
	size_t p, used = 0;

	if (n < HURST_MIN_POINTS)
		return -1;
	p = block_sizes(8, n / 4, out->m);
	for (size_t j = 0; j < p; j++) {
		double rs = block_rs(x, out->m[j], n / out->m[j]);

		if (!(rs > 0))
			continue;
		out->m[used] = out->m[j];
		out->logm[used] = log10((double)out->m[j]);
		out->logv[used++] = log10(rs);
	}
	if (fit_line(out->logm, out->logv, used, &b, &se, &r2) < 0)
		return -1;
	out->h = b;
	out->se = se;
	out->r2 = r2;
	out->slope = b;
	out->n = n;
	out->nscales = used;
	return 0;
}

size_t
hurst_longest_run(const double *x, size_t n, size_t *start)
{
	size_t best = 0, cur = 0;

	*start = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(x[i])) {
			cur = 0;
			continue;
		}
		if (++cur > best) {
			best = cur;
			*start = i + 1 - cur;
		}
	}
	return best;
}
