"""A house-price model trained in your own code and tracked by cockpit (`cockpit.start_run`).

`cockpit demo` runs it once; run it again from the demo folder to log another run:

    python data/scripts/train_house_prices.py

cockpit finds the workspace from the current folder (or COCKPIT_WORKSPACE), hands the code
the split's rows, keeps the params and the validation curve it logs, and scores the model it
logs on the validation rows with the problem spec's metric (mae). A retrain runs this script
again with the new data version in COCKPIT_DATA_VERSION.
"""

from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import mean_absolute_error
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

import cockpit

ROUNDS = 120
LEARNING_RATE = 0.08
WORDS = ["neighborhood", "condition"]  # encoded as categories; the numbers pass through

with cockpit.start_run(project="house-prices", seed=7) as run:
    X_train, y_train = run.train_frame()
    X_val, y_val = run.validation_frame()
    prepare = make_column_transformer(
        (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), WORDS),
        ("passthrough", make_column_selector(dtype_include="number")),
    )
    booster = HistGradientBoostingRegressor(
        max_iter=ROUNDS,
        learning_rate=LEARNING_RATE,
        categorical_features=[0, 1],  # the two encoded columns come first
        random_state=run.seed,
    )
    model = make_pipeline(prepare, booster)
    run.log_params({"max_iter": ROUNDS, "learning_rate": LEARNING_RATE, "categories": ",".join(WORDS)})
    model.fit(X_train, y_train)
    validation = model[:-1].transform(X_val)
    for step, predicted in enumerate(booster.staged_predict(validation), start=1):
        if step % 10 == 0:
            run.log_metric("validation_mae", mean_absolute_error(y_val, predicted), step=step)
    run.log_model(model)

print(f"run {run.result.id}: validation {run.result.metric} {run.result.score:,.0f}")
