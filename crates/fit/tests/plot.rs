//! The plot is an SVG document with the histogram, the best fits' curves named in a legend,
//! and the axes labelled.

use crate::*;
use statrs::distribution as sd;

/// The text of every `<text>` element (plotters writes it on a line of its own).
fn text_of(svg: &str) -> Vec<&str> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            t.split_once('>')
                .and_then(|(_, rest)| rest.split_once("</text>"))
        })
        .map(|(text, _)| text.trim())
        .collect()
}

#[test]
fn the_plot_names_the_best_fits_and_the_axes() {
    let column = Column {
        name: "loss".into(),
        values: draws(sd::LogNormal::new(2.0, 0.6).unwrap(), 31, 2000),
    };
    let r = mcp_fit::fit(&column, None, Criterion::Aic).unwrap();
    let svg = mcp_fit::plot::svg(&r, &column).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..100]);
    assert!(svg.trim_end().ends_with("</svg>"));
    let texts = text_of(&svg);
    let legend = |name: &str| {
        texts
            .iter()
            .any(|t| t.starts_with(&format!("{name} (AIC ")))
    };
    for f in r.fits.iter().take(mcp_fit::plot::DRAWN) {
        assert!(legend(f.name()), "no legend for {} in {texts:?}", f.name());
    }
    assert!(
        !legend(r.fits[mcp_fit::plot::DRAWN].name()),
        "only the best three are drawn"
    );
    assert!(
        texts.contains(&"loss") && texts.contains(&"density"),
        "{texts:?}"
    );
    assert!(texts.contains(&"loss: 2000 values and the best fits"));
    // The histogram's bars and one curve per fit drawn.
    assert!(svg.matches("<rect").count() > 10);
    assert!(svg.matches("<polyline").count() >= mcp_fit::plot::DRAWN);

    let counts = Column {
        name: "claims".into(),
        values: draws(sd::Poisson::new(3.0).unwrap(), 32, 500),
    };
    let r = mcp_fit::fit(&counts, None, Criterion::Aic).unwrap();
    let svg = mcp_fit::plot::svg(&r, &counts).unwrap();
    let texts = text_of(&svg);
    assert!(texts.contains(&"probability"), "{texts:?}");
    assert!(
        texts.iter().any(|t| t.starts_with("poisson (AIC ")),
        "{texts:?}"
    );
}
